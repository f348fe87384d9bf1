#!/usr/bin/env node
// The peer: a minimal in-memory WebSocket broadcast server (Debian's node-ws), the ceiling our server is
// measured against. No persistence, no authentication, no commands: it speaks just enough of
// docs/PROTOCOL.md for the same load generator to drive it with the same shapes:
//   on connect -> hello; join {thread, after?} -> the missed messages (kept in memory), then joined;
//   send {thread, id, text} -> message to every connection in the thread, ack to the sender.
// HTTP: GET /health, and POST /api/contracts answers 201 (the generator creates contracts first).
// Usage: node broadcast-server.js [port]   (NODE_PATH=/usr/share/nodejs if `ws` is not found)
'use strict';

const http = require('http');
let WebSocket;
try { WebSocket = require('ws'); } catch (e) { WebSocket = require('/usr/share/nodejs/ws'); }

const port = Number(process.argv[2] || process.env.PORT || 8090);
/// Messages kept per thread for `join` with `after` (the replay scenario needs 1,000).
const KEEP = 1024;
/// thread id -> { seq, members: Set<ws>, log: [json strings, newest last] }
const threads = new Map();
let connections = 0;

function thread(id) {
  let t = threads.get(id);
  if (!t) { t = { seq: 0, members: new Set(), log: [] }; threads.set(id, t); }
  return t;
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', connections }));
  } else if (req.method === 'POST' && req.url === '/api/contracts') {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      let id = null;
      try { id = JSON.parse(body).id; } catch (e) { /* answered below */ }
      res.writeHead(id ? 201 : 400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(id ? { thread: id } : { error: { code: 'bad_request' } }));
    });
  } else {
    res.writeHead(404);
    res.end();
  }
});

const wss = new WebSocket.Server({ server, path: '/ws', perMessageDeflate: false, maxPayload: 16384 });

wss.on('connection', (ws) => {
  connections++;
  const joined = new Set();
  ws.send(JSON.stringify({ type: 'hello', user: null, moderator: false }));
  ws.on('message', (data) => {
    let frame;
    try { frame = JSON.parse(data); } catch (e) {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'not JSON' }));
      return;
    }
    if (frame.type === 'join') {
      const t = thread(frame.thread);
      if (typeof frame.after === 'number') {
        const first = t.seq - t.log.length + 1;
        for (let seq = Math.max(frame.after + 1, first); seq <= t.seq; seq++) ws.send(t.log[seq - first]);
      }
      t.members.add(ws);
      joined.add(frame.thread);
      ws.send(JSON.stringify({ type: 'joined', thread: frame.thread, last_seq: t.seq, role: 'buyer' }));
    } else if (frame.type === 'send') {
      if (!joined.has(frame.thread)) {
        ws.send(JSON.stringify({ type: 'error', code: 'not_joined', thread: frame.thread, id: frame.id }));
        return;
      }
      const t = thread(frame.thread);
      const seq = ++t.seq;
      const message = JSON.stringify({ type: 'message', thread: frame.thread, seq, author: null, kind: 'chat', text: frame.text, client_id: frame.id });
      t.log.push(message);
      if (t.log.length > KEEP) t.log.shift();
      for (const member of t.members) member.send(message);
      ws.send(JSON.stringify({ type: 'ack', thread: frame.thread, id: frame.id, seq, duplicate: false, outcome: 'chat' }));
    } else if (frame.type === 'leave') {
      joined.delete(frame.thread);
      thread(frame.thread).members.delete(ws);
    }
  });
  ws.on('close', () => {
    connections--;
    for (const id of joined) thread(id).members.delete(ws);
  });
});

server.listen(port, '127.0.0.1', () => { console.log(`peer serving on http://127.0.0.1:${port}`); });
process.on('SIGTERM', () => process.exit(0));
