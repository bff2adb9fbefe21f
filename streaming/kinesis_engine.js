// The local Kinesis stream: kinesalite on one address, its records kept in LevelDB on disk.
// Usage: node kinesis_engine.js HOST PORT DATA_DIR
'use strict'

const kinesalite = require('kinesalite')

const [host, port, path] = process.argv.slice(2)
if (!host || !port || !path) {
  console.error('usage: node kinesis_engine.js HOST PORT DATA_DIR')
  process.exit(2)
}

// No account-wide shard limit worth emulating locally: every test or demo stage has a stream of its own.
const server = kinesalite({ path, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10000 })
server.listen(Number(port), host, () => {
  console.log(`local Kinesis listening on http://${host}:${port}, records in ${path}`)
})
server.on('error', (error) => {
  console.error(`local Kinesis cannot listen on ${host}:${port}: ${error.message}`)
  process.exit(1)
})

function stop(signal) {
  console.log(`${signal}: closing the store and stopping`)
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 5000).unref()
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
