/** A span of time as a person says it: `45 s`, `31 min`, `2 h 5 min`, `3 days`. */
export function durationInWords(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  return `${Math.round(h / 24)} days`;
}

/**
 * An instant ahead, as a person says it: `at 10:00 UTC, in 45 min` (the date too when it is not
 * today, UTC; the seconds when they are not 0).
 */
export function whenInWords(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  const time = iso.slice(17, 19) === '00' ? iso.slice(11, 16) : iso.slice(11, 19);
  const day = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? '' : `${iso.slice(0, 10)} `;
  return `at ${day}${time} UTC, in ${durationInWords(at - now)}`;
}
