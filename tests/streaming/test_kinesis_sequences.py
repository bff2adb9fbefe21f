"""The local stream engine's sequence numbers (``streaming/kinesis_sequences.js``) agree with
kinesalite's own functions on every number kinesalite makes, and on the ones it refuses."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from streaming.local_aws import KINESIS_ENGINE, NODE_MODULES

AGREEMENT = r"""
const assert = require('assert')
const db = require('kinesalite/db')
const exact = { parse: db.parseSequence, stringify: db.stringifySequence }
const fast = { ...db }
require(process.argv[1]).install(fast)
let seed = 7
const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647
let compared = 0
for (let i = 0; i < 20000; i++) {
  const made = {
    shardCreateTime: Math.floor(1.4e12 + random() * 4e11),
    shardIx: Math.floor(random() * (i % 2 ? 4 : 100000)),
    seqIx: i % 3 ? Math.floor(random() * 2 ** 40) : String(Math.floor(random() * 2 ** 52)),
    seqTime: Math.floor(1.5e12 + random() * 3e11),
  }
  if (i % 5 === 0) made.version = 2
  const sequence = exact.stringify(made)
  assert.strictEqual(fast.stringifySequence(made), sequence)
  assert.deepStrictEqual(fast.parseSequence(sequence), exact.parse(sequence))
  compared++
}
const outcome = (parse, value) => {
  try { return parse(value) } catch (error) { return 'throws ' + error.message }
}
for (const value of ['0', '1', '12', '1e5', '-5', 'abc', '', '9'.repeat(60),
  '49590338271490256608559692538361571095921575989136588898', null, 5]) {
  assert.deepStrictEqual(outcome(fast.parseSequence, value), outcome(exact.parse, value))
  compared++
}
// other versions, a sequence index past 2^63 and a date past kinesalite's limit: the numbers
// they make are refused or read by kinesalite's own code, with its own messages
for (const made of [{ version: 0, shardCreateTime: 1.5e12, shardIx: 3 },
  { version: 1, shardCreateTime: 1.5e12, shardIx: 3, seqIx: 4, seqTime: 1.6e12 },
  { shardCreateTime: 1.5e12, shardIx: 3, seqIx: '18446744073709551615', seqTime: 1.6e12 },
  { shardCreateTime: 16025175001000, shardIx: 3, seqIx: 4, seqTime: 16025175001000 }]) {
  const sequence = exact.stringify(made)
  assert.strictEqual(fast.stringifySequence(made), sequence)
  assert.deepStrictEqual(outcome(fast.parseSequence, sequence), outcome(exact.parse, sequence))
  compared++
}
console.log(compared)
"""


def test_sequence_numbers_agree_with_kinesalites_own() -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "kinesalite").is_dir():
        pytest.fail("the local stream engine needs node and `npm ci` (make test installs both)")
    module = KINESIS_ENGINE.with_name("kinesis_sequences.js")
    checked = subprocess.run(
        [node, "-e", AGREEMENT, str(module)],
        cwd=NODE_MODULES.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert int(checked.stdout) == 20_015
