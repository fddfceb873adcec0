// The PouchDB peer of the full-push case (run by bench/pouch.py):
//   node pouch_peer.js DOCS.ndjson LOCAL_DIR REMOTE_URL BATCH_SIZE
// Loads the documents into a local PouchDB (LevelDB; untimed), then times one replication
// of all of them to REMOTE_URL (pouchdb-server) and prints one JSON line.
'use strict';
const fs = require('fs');
const PouchDB = require('pouchdb');

async function main() {
  const [docsFile, localDir, remoteUrl, batchSize] = process.argv.slice(2);
  const local = new PouchDB(localDir);
  const lines = fs.readFileSync(docsFile, 'utf8').split('\n').filter(Boolean);
  for (let i = 0; i < lines.length; i += 1000) {
    await local.bulkDocs(lines.slice(i, i + 1000).map((line) => JSON.parse(line)));
  }
  const remote = new PouchDB(remoteUrl);
  await remote.info(); // creates the remote database, untimed
  const started = process.hrtime.bigint();
  const result = await local.replicate.to(remote, { batch_size: Number(batchSize) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const info = await remote.info();
  console.log(JSON.stringify({ seconds, docs_written: result.docs_written,
                               remote_count: info.doc_count }));
  await local.close();
  await remote.close();
}

main().catch((error) => { console.error(error); process.exit(1); });
