// The local Kinesis stream: kinesalite on one address, its records kept in LevelDB on disk.
// Usage: node kinesis_engine.js HOST PORT DATA_DIR
//
// Besides the Kinesis API it answers one request of its own, for privacy erasure (Kinesis has no
// way to delete a record; on AWS records age out with the stream's retention):
//   POST /clickstream/erase-records  {"tokens": ["<64 hex>", ...]}
// deletes every record of every stream whose data holds one of the tokens, then compacts the
// store so no file on disk keeps their bytes. Answers {"records_removed": n}.
'use strict'

const kinesaliteDb = require('kinesalite/db')
require('./kinesis_sequences').install(kinesaliteDb)

// kinesalite keeps its store private; capture it as the server creates it.
let store = null
const createStore = kinesaliteDb.create
kinesaliteDb.create = (options) => {
  store = createStore(options)
  return store
}
const kinesalite = require('kinesalite')

const ERASE_PATH = '/clickstream/erase-records'
const TOKEN = /^[0-9a-f]{64}$/

const [host, port, path] = process.argv.slice(2)
if (!host || !port || !path) {
  console.error('usage: node kinesis_engine.js HOST PORT DATA_DIR')
  process.exit(2)
}

// No account-wide shard limit worth emulating locally: every test or demo stage has a stream of its own.
const server = kinesalite({ path, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10000 })
const kinesisApi = server.listeners('request')[0]
server.removeAllListeners('request')
server.on('request', (request, response) => {
  if (request.method === 'POST' && request.url === ERASE_PATH) {
    eraseRecords(request, response)
  } else {
    kinesisApi(dropOnError(request, response), response)
  }
})

// kinesalite rethrows a request's error, and a client that goes away mid-request (a consumer
// killed while it sends) then stops the whole engine with every stream. Such a request is
// dropped instead: nothing of it was applied, its client is gone.
function dropOnError(request, response) {
  const on = request.on
  request.on = function (event, listener) {
    if (event !== 'error') return on.call(this, event, listener)
    return on.call(this, event, (error) => {
      console.error(`request dropped: ${error.code || error.message}`)
      response.destroy()
    })
  }
  return request
}

server.listen(Number(port), host, () => {
  console.log(`local Kinesis listening on http://${host}:${port}, records in ${path}`)
})
server.on('error', (error) => {
  console.error(`local Kinesis cannot listen on ${host}:${port}: ${error.message}`)
  process.exit(1)
})

function answer(response, status, body) {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  response.end(text)
}

function keysOf(db) {
  return new Promise((resolve, reject) => {
    const keys = []
    db.createKeyStream().on('data', (key) => keys.push(key)).on('error', reject).on('end', () => resolve(keys))
  })
}

function matchingKeys(db, tokens) {
  return new Promise((resolve, reject) => {
    const keys = []
    db.createReadStream()
      .on('data', ({ key, value }) => {
        const data = Buffer.from(value.Data || '', 'base64')
        if (tokens.some((token) => data.includes(token))) keys.push(key)
      })
      .on('error', reject)
      .on('end', () => resolve(keys))
  })
}

function callback(resolve, reject) {
  return (error) => (error ? reject(error) : resolve())
}

function compactStore() {
  return new Promise((resolve, reject) =>
    store.db.compactRange(Buffer.from([0x00]), Buffer.alloc(8, 0xff), callback(resolve, reject)))
}

// A deleted record's bytes leave LevelDB's files only when a compaction merges its deletion with
// it, and a compaction never rewrites the deepest level holding tables. So the records are first
// compacted into tables (their log flushed), then deleted, then compacted again: the deletions
// are flushed above the records' tables and merged down into them, dropping both.
async function eraseFromStore(tokens) {
  await compactStore()
  let removed = 0
  for (const name of await keysOf(store.metaDb)) {
    const streamDb = store.getStreamDb(name)
    const keys = await matchingKeys(streamDb, tokens)
    if (keys.length) {
      await new Promise((resolve, reject) =>
        streamDb.batch(keys.map((key) => ({ type: 'del', key })), callback(resolve, reject)))
      removed += keys.length
    }
  }
  await compactStore()
  return removed
}

function eraseRecords(request, response) {
  const chunks = []
  request.on('data', (chunk) => chunks.push(chunk))
  request.on('end', () => {
    let tokens
    try {
      tokens = JSON.parse(Buffer.concat(chunks).toString('utf8')).tokens
    } catch (error) {
      return answer(response, 400, { message: `the body is not JSON: ${error.message}` })
    }
    if (!Array.isArray(tokens) || !tokens.length || !tokens.every((token) => TOKEN.test(token))) {
      return answer(response, 400, { message: 'tokens must be a non-empty list of 64 hex digits' })
    }
    eraseFromStore(tokens.map((token) => Buffer.from(token)))
      .then((removed) => answer(response, 200, { records_removed: removed }))
      .catch((error) => answer(response, 500, { message: String(error.message || error) }))
  })
}

function stop(signal) {
  console.log(`${signal}: closing the store and stopping`)
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 5000).unref()
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
