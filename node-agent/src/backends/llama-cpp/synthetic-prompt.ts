import { createHash } from 'node:crypto';

/** Common English words (97, a prime) the synthetic prompts are made of; any tokenizer splits each into a few tokens. */
const PROMPT_WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her one all we can their there been if more when will would who so no time about out up into than ' +
  'them only some could new other these then what two may first any like now my such make over our even most ' +
  'after also made many before must through back years where much your way well down should because each just ' +
  'those people how too'
).split(' ');

/**
 * Text of at least `words` words for a job that sent token counts instead of a prompt. Each job id
 * starts at its own place in the word list and walks it with its own stride, so two jobs share no
 * long prefix: llama.cpp's prefix reuse would otherwise skip the prefill a real prompt costs.
 */
export function syntheticPromptText(jobId: string, words: number): string {
  const digest = createHash('sha256').update(jobId).digest();
  const start = digest.readUInt32LE(0) % PROMPT_WORDS.length;
  // The list holds a prime number of words (97), so every stride visits all of them before repeating.
  const stride = 1 + (digest.readUInt32LE(4) % (PROMPT_WORDS.length - 1));
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(PROMPT_WORDS[(start + i * stride) % PROMPT_WORDS.length] ?? 'the');
  return parts.join(' ');
}
