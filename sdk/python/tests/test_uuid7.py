from __future__ import annotations

import unittest
import uuid

import _support

from agentspend import uuid7


class Uuid7Tests(unittest.TestCase):
    def test_layout(self):
        u = uuid7(unix_ms=0x0189_4F6A_2B3C)
        self.assertEqual(u.version, 7)
        self.assertEqual(u.variant, uuid.RFC_4122)
        self.assertEqual(u.int >> 80, 0x0189_4F6A_2B3C)

    def test_time_ordered_and_unique(self):
        ids = [uuid7() for _ in range(2000)]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 2000)
        self.assertEqual(sorted(str(i) for i in ids), [str(i) for i in ids])


if __name__ == "__main__":
    unittest.main()
