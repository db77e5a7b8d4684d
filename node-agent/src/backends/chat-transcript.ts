import type { ChatTurn } from './backend.js';

/**
 * A session's history and its new prompt as one raw prompt, for engines without chat roles (raw
 * completions, llama.cpp): each earlier prompt followed by its answer, in order, then the new
 * prompt. The turns are concatenated as they were exchanged, so the text is what the model would
 * have seen had it kept the context.
 */
export function chatTranscript(history: readonly ChatTurn[] | undefined, prompt: string): string {
  return (history ?? []).map((turn) => `${turn.prompt}${turn.answer}`).join('') + prompt;
}
