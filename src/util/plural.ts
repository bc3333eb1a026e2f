/** `1 change`, `2 changes`: the one plural of the words poolsync writes (`many` when not `word`s). */
export const plural = (n: number, word: string, many = `${word}s`): string =>
  `${n} ${n === 1 ? word : many}`;
