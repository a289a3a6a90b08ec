// Sorting of the dashboard's tables: by any column, either way, missing values always last.

export type Direction = 'asc' | 'desc';

export interface SortState {
  column: string;
  direction: Direction;
}

type Value = string | number | null | undefined;

export function sortRows<T>(rows: readonly T[], valueOf: (row: T) => Value, direction: Direction): T[] {
  const factor = direction === 'asc' ? 1 : -1;
  return rows
    .map((row, index) => ({ row, index, value: valueOf(row) }))
    .sort((a, b) => {
      const missingA = a.value === null || a.value === undefined;
      const missingB = b.value === null || b.value === undefined;
      if (missingA || missingB) return missingA === missingB ? a.index - b.index : missingA ? 1 : -1;
      const order = typeof a.value === 'number' && typeof b.value === 'number'
        ? a.value - b.value
        : String(a.value).localeCompare(String(b.value), 'en', { numeric: true });
      return order === 0 ? a.index - b.index : order * factor;
    })
    .map((entry) => entry.row);
}

/** A click on a column header: the same column flips direction; a new one starts with the given first direction. */
export function nextSort(current: SortState, column: string, firstDirection: Direction = 'desc'): SortState {
  return current.column === column
    ? { column, direction: current.direction === 'asc' ? 'desc' : 'asc' }
    : { column, direction: firstDirection };
}
