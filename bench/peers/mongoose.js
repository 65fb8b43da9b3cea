// bench/peers/mongoose.js - the Node side of `make bench-peers`: the
// workloads of bench/peers/peers.py on MongoDB through the node mongodb
// driver (raw) and Mongoose, with the same data, checks and best-of-RUNS
// timing (the connection opened before the clock starts; no more runs of
// a side once they took BUDGET seconds, 10).
//
//   create       ROWS documents of bench_rec: insertMany vs Model.insertMany
//   search_read  every bench_rec document sorted on _id: a find cursor into
//                objects { id, name, ... } vs Model.find() (documents)
//   m2o_loop     the length of each child's parent name: find + find $in
//                (two steps, as rel_bench.c) vs find().populate('parent')
//
// Usage: node mongoose.js URL ROWS RUNS OUT.json [BUDGET]   (NODE_PATH: node_modules)
'use strict';
const fs = require('fs');

const [url, rowsArg, runsArg, outPath, budgetArg] = process.argv.slice(2);
const BUDGET = budgetArg ? parseFloat(budgetArg) : 10;
const ROWS = parseInt(rowsArg, 10), RUNS = parseInt(runsArg, 10), PARENTS = 1000, IN_CHUNK = 20000;
const FIELDS = ['name', 'email', 'age', 'score', 'active'];

function makeData(rows) {
  const data = new Array(rows);
  for (let i = 0; i < rows; i++)
    data[i] = { name: 'name ' + i, email: 'user' + i + '@example.com', age: i % 90,
                score: (i % 1000) / 10, active: i % 3 !== 0 };
  return data;
}

function version(pkg) {
  try { return require(pkg + '/package.json').version; } catch (e) { return null; }
}

function short(e) {
  const s = String(e && e.message ? e.message : e).replace(/\s+/g, ' ');
  return s.length <= 160 ? s : s.slice(0, 157) + '...';
}

function check(cond, what) { if (!cond) throw new Error(what); }

function checkRows(rows, get, data) {
  check(rows.length === ROWS, rows.length + ' rows read, ' + ROWS + ' expected');
  for (const i of [0, ROWS >> 1, ROWS - 1])
    for (const f of FIELDS)
      check(get(rows[i], f) === data[i][f], 'row ' + i + ': ' + f + ' is ' + get(rows[i], f) + ', ' + data[i][f] + ' expected');
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function main() {
  const data = makeData(ROWS);
  const out = { backend: 'mongodb', rows: ROWS, runs: RUNS, node: process.version, peers: [] };
  const missing = process.env.PEERS_NPM_MISSING || '';
  const mongodbVer = version('mongodb'), mongooseVer = version('mongoose');
  if (!mongodbVer) {
    const why = 'not installed: ' + (missing || 'mongodb (node driver) not found');
    out.raw = { name: 'mongodb (node driver)', error: why };
    out.peers.push({ name: 'Mongoose', error: mongooseVer ? why : 'not installed: ' + (missing || 'mongoose not found') });
    fs.writeFileSync(outPath, JSON.stringify(out, null, 2));
    return;
  }
  const { MongoClient } = require('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 });
  await client.connect();
  const db = client.db();
  // drop, not deleteMany({}): see peers.py (FerretDB's variable limit)
  async function drop(...names) {
    for (const n of names) {
      await db.collection(n).drop().catch(e => { if (e.code !== 26) throw e; });
      await db.createCollection(n);
    }
  }
  async function countRec() { return db.collection('bench_rec').countDocuments({}); }

  await drop('bench_rec', 'bench_parent', 'bench_child');
  {
    const ps = [];
    for (let i = 1; i <= PARENTS; i++) ps.push({ name: 'parent number ' + i });
    const ids = Object.values((await db.collection('bench_parent').insertMany(ps)).insertedIds);
    const cs = [];
    for (let i = 1; i <= ROWS; i++) cs.push({ name: 'c' + i, parent_id: ids[i % PARENTS] });
    await db.collection('bench_child').insertMany(cs);
    await db.collection('bench_child').createIndex({ parent_id: 1 });
  }

  const raw = {
    name: 'mongodb (node driver ' + mongodbVer + ', Node ' + process.version + ')',
    how: { create: 'insertMany', search_read: 'find(sort _id) into objects', m2o_loop: 'find + find $in (two steps)' },
    async create(d) {
      const docs = d.map(x => ({ ...x }));
      const t0 = now();
      await db.collection('bench_rec').insertMany(docs);
      return now() - t0;
    },
    async search_read() {
      const t0 = now();
      const rows = [];
      const cur = db.collection('bench_rec').find({}, { projection: { name: 1, email: 1, age: 1, score: 1, active: 1 }, sort: { _id: 1 } });
      for await (const d of cur)
        rows.push({ id: d._id.toHexString(), name: d.name, email: d.email, age: d.age, score: d.score, active: d.active });
      return [now() - t0, rows, (r, f) => r[f]];
    },
    async m2o_loop() {
      const t0 = now();
      const slots = new Map(), order = [], kids = [];
      for await (const d of db.collection('bench_child').find({}, { projection: { _id: 1, parent_id: 1 }, sort: { _id: 1 } })) {
        const p = d.parent_id;
        if (p == null) { kids.push(-1); continue; }
        const k = p.toHexString();
        let s = slots.get(k);
        if (s === undefined) { s = order.length; slots.set(k, s); order.push(p); }
        kids.push(s);
      }
      const names = new Array(order.length);
      for (let s = 0; s < order.length; s += IN_CHUNK) {
        for await (const d of db.collection('bench_parent').find({ _id: { $in: order.slice(s, s + IN_CHUNK) } }, { projection: { _id: 1, name: 1 } }))
          names[slots.get(d._id.toHexString())] = d.name;
      }
      let total = 0;
      for (const s of kids) if (s >= 0) total += names[s].length;
      return [now() - t0, total];
    },
  };
  const sides = [['raw', raw]];

  let mongoose = null;
  if (!mongooseVer) {
    out.peers.push({ name: 'Mongoose', error: 'not installed: ' + (missing || 'mongoose not found') });
  } else {
    try {
      mongoose = require('mongoose');
      await mongoose.connect(url, { serverSelectionTimeoutMS: 3000, autoIndex: false, autoCreate: false });
      const { Schema } = mongoose;
      const Rec = mongoose.model('Rec', new Schema({ name: String, email: String, age: Number, score: Number, active: Boolean },
                                                   { collection: 'bench_rec', versionKey: false }));
      const Parent = mongoose.model('Parent', new Schema({ name: String }, { collection: 'bench_parent', versionKey: false }));
      const Child = mongoose.model('Child', new Schema({ name: String, parent_id: { type: Schema.Types.ObjectId, ref: 'Parent' } },
                                                       { collection: 'bench_child', versionKey: false }));
      await Rec.findOne(); // connected: not timed
      sides.push(['mongoose', {
        name: 'Mongoose ' + mongooseVer,
        how: { create: 'Model.insertMany', search_read: "find().sort({_id: 1}) -> documents", m2o_loop: "find().populate('parent_id')" },
        async create(d) {
          const t0 = now();
          await Rec.insertMany(d);
          return now() - t0;
        },
        async search_read() {
          const t0 = now();
          const rows = await Rec.find({}).sort({ _id: 1 });
          return [now() - t0, rows, (r, f) => r[f]];
        },
        async m2o_loop() {
          const t0 = now();
          let total = 0;
          for (const c of await Child.find({}, 'parent_id').sort({ _id: 1 }).populate('parent_id', 'name'))
            total += c.parent_id.name.length;
          return [now() - t0, total];
        },
      }]);
    } catch (e) {
      out.peers.push({ name: 'Mongoose ' + mongooseVer, error: 'failed: ' + short(e) });
    }
  }

  const results = {};
  for (const [k, s] of sides) results[k] = { name: s.name, how: s.how };
  let rawTotal = null;
  async function best(key, work, fn) {
    const res = results[key];
    try {
      // best of RUNS, no more once the runs took BUDGET seconds (as peers.py)
      let b = null, spent = 0, n = 0;
      while (n < RUNS && (n === 0 || spent < BUDGET)) {
        const t0 = now();
        const t = await fn();
        spent += now() - t0;
        n++;
        if (b === null || t < b) b = t;
      }
      res[work] = Math.round(b * 1e5) / 100;
      res[work + '_runs'] = n;
    } catch (e) {
      res[work] = 'failed: ' + short(e);
      console.error(e);
    }
    console.log('peers mongodb    ' + work.padEnd(12) + ' ' + res.name.padEnd(30) + ' ' +
                (typeof res[work] === 'string' ? res[work] : res[work].toFixed(1) + ' ms'));
  }
  // create: the raw driver last, its rows stay for search_read (as peers.py)
  for (const [k, s] of sides.slice(1).concat(sides.slice(0, 1)))
    await best(k, 'create', async () => {
      await drop('bench_rec');
      const t = await s.create(data);
      const n = await countRec();
      check(n === ROWS, 'documents after create: ' + n + ', ' + ROWS + ' expected');
      return t;
    });
  for (const [k, s] of sides)
    await best(k, 'search_read', async () => {
      const [t, rows, get] = await s.search_read();
      checkRows(rows, get, data);
      return t;
    });
  for (const [k, s] of sides)
    await best(k, 'm2o_loop', async () => {
      const [t, total] = await s.m2o_loop();
      if (s === raw) rawTotal = total;
      check(total === rawTotal, 'total of the parent names\' lengths: ' + total + ', the raw driver\'s ' + rawTotal);
      return t;
    });
  out.raw = results.raw;
  out.peers = sides.slice(1).map(([k]) => results[k]).concat(out.peers);
  fs.writeFileSync(outPath, JSON.stringify(out, null, 2));
  if (mongoose) await mongoose.disconnect();
  await client.close();
}

main().catch(e => { console.error(e); process.exit(1); });
