import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contributionRows,
  isNewer,
  itemId,
  sweptState,
  type ItemState,
} from '../../../consumers/rollups/contribution.ts';

const state = (itemKey: string, version: string, revenue: string | null, day = '2026-03-01'): ItemState => ({
  table: 'orders',
  itemKey,
  version,
  partition: 2,
  deleted: revenue === null,
  values: revenue === null ? { day: '1970-01-01', m_revenue: '0' } : { day, m_revenue: revenue },
});
const applied = (...states: ItemState[]): Map<string, ItemState> =>
  new Map(states.map((item) => [itemId(item.table, item.itemKey), item]));
/** A row as [sign, key, version, deleted, day, revenue], enough to read a case at a glance. */
const brief = (rows: ReturnType<typeof contributionRows>) =>
  rows.map((row) => [row.sign, row.item_key, row.version, row.is_deleted, row.day, row.m_revenue]);

test('a change supersedes the applied state only when it is newer; a delete wins at an equal version', () => {
  const cases: [
    string,
    Pick<ItemState, 'version' | 'deleted'>,
    Pick<ItemState, 'version' | 'deleted'> | undefined,
    boolean,
  ][] = [
    ['nothing applied yet', { version: '5', deleted: false }, undefined, true],
    ['higher version', { version: '6', deleted: false }, { version: '5', deleted: false }, true],
    ['duplicate', { version: '5', deleted: false }, { version: '5', deleted: false }, false],
    ['older (reordered) change', { version: '4', deleted: false }, { version: '5', deleted: false }, false],
    ['compared by value, not as text', { version: '10', deleted: false }, { version: '9', deleted: false }, true],
    [
      '40-digit stream versions',
      { version: '4421584500000000017450439092000000000001', deleted: false },
      { version: '4421584500000000017450439091999999999999', deleted: false },
      true,
    ],
    [
      'a snapshot row (version 0) after the stream',
      { version: '0', deleted: false },
      { version: '7', deleted: false },
      false,
    ],
    ['a sweep deletes at the version held', { version: '5', deleted: true }, { version: '5', deleted: false }, true],
    [
      'a swept item stays deleted at that version',
      { version: '5', deleted: false },
      { version: '5', deleted: true },
      false,
    ],
    ['a delete replayed', { version: '5', deleted: true }, { version: '5', deleted: true }, false],
  ];
  for (const [name, candidate, current, expected] of cases) assert.equal(isNewer(candidate, current), expected, name);
});

test('deltas: the applied state is taken back and the newest change added; retractions come first', () => {
  const cases: [string, Map<string, ItemState>, ItemState[], unknown[]][] = [
    [
      'a new item adds its contribution',
      applied(),
      [state('A', '1', '10.00')],
      [[1, 'A', '1', 0, '2026-03-01', '10.00']],
    ],
    [
      'a modify moves the money to its new day',
      applied(state('A', '1', '10.00')),
      [state('A', '2', '12.50', '2026-03-02')],
      [
        [-1, 'A', '1', 0, '2026-03-01', '10.00'],
        [1, 'A', '2', 0, '2026-03-02', '12.50'],
      ],
    ],
    [
      'a delete takes the contribution back and keeps the version',
      applied(state('A', '1', '10.00')),
      [state('A', '3', null)],
      [
        [-1, 'A', '1', 0, '2026-03-01', '10.00'],
        [1, 'A', '3', 1, '1970-01-01', '0'],
      ],
    ],
    [
      'a duplicate of the applied state writes nothing',
      applied(state('A', '2', '12.50')),
      [state('A', '2', '12.50')],
      [],
    ],
    ['a replayed older change writes nothing', applied(state('A', '2', '12.50')), [state('A', '1', '10.00')], []],
    [
      'the event before-image plays no part: only the applied state is taken back',
      applied(state('A', '2', '99.99')),
      [state('A', '3', '1.00')],
      [
        [-1, 'A', '2', 0, '2026-03-01', '99.99'],
        [1, 'A', '3', 0, '2026-03-01', '1.00'],
      ],
    ],
    [
      'several changes of one item in a batch: one retraction, the newest added',
      applied(state('A', '1', '10.00')),
      [state('A', '3', '30.00'), state('A', '2', '20.00'), state('A', '3', '30.00')],
      [
        [-1, 'A', '1', 0, '2026-03-01', '10.00'],
        [1, 'A', '3', 0, '2026-03-01', '30.00'],
      ],
    ],
    [
      'a delete then a re-create in one batch',
      applied(state('A', '1', '10.00')),
      [state('A', '2', null), state('A', '3', '5.00')],
      [
        [-1, 'A', '1', 0, '2026-03-01', '10.00'],
        [1, 'A', '3', 0, '2026-03-01', '5.00'],
      ],
    ],
    [
      'a re-create after a delete takes back the deleted row (it counts zero)',
      applied(state('A', '2', null)),
      [state('A', '3', '5.00')],
      [
        [-1, 'A', '2', 1, '1970-01-01', '0'],
        [1, 'A', '3', 0, '2026-03-01', '5.00'],
      ],
    ],
    [
      'retractions of all items precede every addition',
      applied(state('A', '1', '1.00'), state('B', '1', '2.00')),
      [state('A', '2', '3.00'), state('B', '2', '4.00')],
      [
        [-1, 'A', '1', 0, '2026-03-01', '1.00'],
        [-1, 'B', '1', 0, '2026-03-01', '2.00'],
        [1, 'A', '2', 0, '2026-03-01', '3.00'],
        [1, 'B', '2', 0, '2026-03-01', '4.00'],
      ],
    ],
    [
      'a sweep deletes an item at its version',
      applied(state('A', '4', '7.00')),
      [sweptState(state('A', '4', '7.00'), { day: '1970-01-01', m_revenue: '0' })],
      [
        [-1, 'A', '4', 0, '2026-03-01', '7.00'],
        [1, 'A', '4', 1, '1970-01-01', '0'],
      ],
    ],
    [
      'a sweep after a newer change of the same batch changes nothing more',
      applied(state('A', '4', '7.00')),
      [state('A', '9', '8.00'), sweptState(state('A', '4', '7.00'), { day: '1970-01-01', m_revenue: '0' })],
      [
        [-1, 'A', '4', 0, '2026-03-01', '7.00'],
        [1, 'A', '9', 0, '2026-03-01', '8.00'],
      ],
    ],
  ];
  for (const [name, before, changes, expected] of cases)
    assert.deepEqual(brief(contributionRows(before, changes)), expected, name);
});

test('applying any split of a change list, each part over the state the previous parts left, gives the same rows in total', () => {
  const changes = [
    state('A', '2', '2.00'),
    state('B', '1', '1.00'),
    state('A', '1', '1.00'),
    state('A', '4', null),
    state('B', '3', '3.00'),
    state('A', '5', '5.00'),
    state('B', '3', '3.00'),
  ];
  const sumOf = (rows: ReturnType<typeof contributionRows>) =>
    rows.reduce((sum, row) => sum + BigInt(row.sign) * BigInt(String(row.m_revenue).replace('.', '')), 0n);
  const whole = sumOf(contributionRows(applied(), changes));
  for (let cut = 0; cut <= changes.length; cut++) {
    const first = contributionRows(applied(), changes.slice(0, cut));
    const after = applied(
      ...[
        ...new Map(
          first
            .filter((row) => row.sign === 1)
            .map((row) => [
              row.item_key,
              state(String(row.item_key), String(row.version), row.is_deleted ? null : String(row.m_revenue)),
            ]),
        ).values(),
      ],
    );
    // The whole list replayed over the state the first part left: only what is newer counts again.
    assert.equal(sumOf(first) + sumOf(contributionRows(after, changes)), whole, `cut at ${cut}`);
  }
  assert.equal(whole, 800n);
});

test("a change a rollup refused keeps that rollup's columns as the item had them, or uncounted for a new item", () => {
  // The rollup of `day` refused the change's values (kept: its columns, uncounted); the other rollup takes the new revenue.
  const refusedByDay = (itemKey: string, version: string, revenue: string): ItemState => ({
    ...state(itemKey, version, revenue),
    values: { m_revenue: revenue },
    kept: { day: '1970-01-01', counted: '0' },
  });
  const held = {
    ...state('A', '1', '10.00', '2026-03-01'),
    values: { day: '2026-03-01', counted: '1', m_revenue: '10.00' },
  };
  assert.deepEqual(
    contributionRows(applied(held), [refusedByDay('A', '2', '12.00'), refusedByDay('B', '2', '5.00')]).map((row) => [
      row.sign,
      row.item_key,
      row.day,
      row.counted,
      row.m_revenue,
    ]),
    [
      [-1, 'A', '2026-03-01', '1', '10.00'],
      [1, 'A', '2026-03-01', '1', '12.00'],
      [1, 'B', '1970-01-01', '0', '5.00'],
    ],
  );
  // Over a change of the same batch, the kept columns come from that change.
  const accepted = {
    ...state('A', '3', '20.00', '2026-03-05'),
    values: { day: '2026-03-05', counted: '1', m_revenue: '20.00' },
  };
  assert.deepEqual(
    contributionRows(applied(held), [accepted, refusedByDay('A', '4', '21.00')]).map((row) => [
      row.sign,
      row.version,
      row.day,
      row.m_revenue,
    ]),
    [
      [-1, '1', '2026-03-01', '10.00'],
      [1, '4', '2026-03-05', '21.00'],
    ],
  );
});
