import { createHash, randomBytes } from 'node:crypto';

/** A fresh API key (shown once at registration). */
export const newApiKey = (): string => `mr_${randomBytes(24).toString('base64url')}`;

/** How API keys are stored: SHA-256, hex. */
export const hashKey = (apiKey: string): string => createHash('sha256').update(String(apiKey)).digest('hex');
