/**
 * `items` pushed onto `list` one by one: `list.push(...items)` passes each item as an argument,
 * and ~120,000 or more overflow the stack (a repository of 130,000 errors did, issue 79).
 */
export function append<T>(list: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) list.push(items[i]!);
}
