/**
 * Prompt text for a job that came without one (simulated clients and load generators send only
 * `inputTokens`). It is sized to about `inputTokens` tokens: common English words, each preceded by
 * a space, are one token each in the Llama 3, Mistral and GPT BPE vocabularies, so N words come to
 * roughly N tokens (the chat template adds a few dozen more). The server's `usage.prompt_tokens`
 * gives the true count. The text opens with the job id so that no two jobs share a prefix: vLLM's
 * prefix cache hashes blocks as a chain from the first, and identical filler would otherwise skip
 * most of the prefill that a real prompt of that size costs.
 */

const FILLER_WORDS = ['the', 'of', 'and', 'to', 'in', 'is', 'that', 'for', 'it', 'as', 'with', 'on', 'was', 'at'];

/** Tokens the opening `Request <id>:` takes, counted against `inputTokens`. */
const HEADER_TOKENS = 4;

/** Filler text of about `inputTokens` tokens, unique to `jobId` from its first token. */
export function placeholderPrompt(jobId: string, inputTokens: number): string {
  const words = Math.max(0, Math.floor(inputTokens) - HEADER_TOKENS);
  const parts: string[] = [`Request ${jobId}:`];
  for (let i = 0; i < words; i++) parts.push(FILLER_WORDS[i % FILLER_WORDS.length]!);
  return parts.join(' ');
}
