#!/usr/bin/env node
// node-tls-server: a TLS echo server on Node's tls (OpenSSL 3.5 inside Node >= 24), an
// interop peer for Overture's post-quantum tests. Node's standard library only.
//
//   node tests/peers/node-tls-server.js --cert chain.pem --key key.pem [--port 0]
//        [--groups X25519MLKEM768:x25519:P-256]   (OpenSSL group list; default: OpenSSL's,
//                                                   X25519MLKEM768 first in 3.5)
//        [--max-version TLSv1.3] [--min-version TLSv1.2]
//
// On stdout, one line per event (the same lines as go-tls-server.go; keep them stable):
//
//   ACCEPT 127.0.0.1:PORT
//   HANDSHAKE group=NAME group_id=0xNNNN version=TLS1.3 resumed=BOOL ech=false server_name=NAME alpn=P
//   ERROR <message>
//
// Node tells a server nothing about the negotiated group, so the server reads it from its own
// ServerHello (TLS 1.3 key_share; after a HelloRetryRequest, the second ServerHello) or
// ServerKeyExchange (TLS 1.2): the TLS socket runs over a JS stream that sees every byte.
'use strict';

const fs = require('fs');
const net = require('net');
const tls = require('tls');
const { Duplex } = require('stream');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const GROUPS = {
  0x0017: 'secp256r1', 0x0018: 'secp384r1', 0x0019: 'secp521r1', 0x001d: 'x25519',
  0x001e: 'x448', 0x11eb: 'SecP256r1MLKEM768', 0x11ec: 'X25519MLKEM768',
  0x11ed: 'SecP384r1MLKEM1024',
};
const HRR_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

// Watches the server's plaintext handshake records for the group it chose.
class GroupWatcher {
  constructor() { this.records = Buffer.alloc(0); this.messages = Buffer.alloc(0); this.group = null; this.done = false; }
  feed(chunk) {
    if (this.done) return;
    this.records = Buffer.concat([this.records, chunk]);
    while (this.records.length >= 5) {
      const type = this.records[0];
      const len = this.records.readUInt16BE(3);
      if (this.records.length < 5 + len) return;
      const body = this.records.subarray(5, 5 + len);
      this.records = this.records.subarray(5 + len);
      if (type === 20 || type === 23) { this.done = true; return; } // CCS or encrypted: done
      if (type !== 22) continue;
      this.messages = Buffer.concat([this.messages, body]);
      this.parseMessages();
      if (this.done) return;
    }
  }
  parseMessages() {
    while (this.messages.length >= 4) {
      const type = this.messages[0];
      const len = this.messages.readUIntBE(1, 3);
      if (this.messages.length < 4 + len) return;
      const m = this.messages.subarray(4, 4 + len);
      this.messages = this.messages.subarray(4 + len);
      if (type === 2) this.serverHello(m);
      else if (type === 12 && m[0] === 3) { this.group = m.readUInt16BE(1); this.done = true; }
      if (this.done) return;
    }
  }
  serverHello(m) {
    const hrr = m.subarray(2, 34).equals(HRR_RANDOM);
    let p = 34;
    p += 1 + m[p]; // session id
    p += 3; // cipher suite, compression
    if (p + 2 > m.length) return;
    const end = p + 2 + m.readUInt16BE(p);
    p += 2;
    while (p + 4 <= end) {
      const type = m.readUInt16BE(p);
      const len = m.readUInt16BE(p + 2);
      if (type === 0x0033 && len >= 2) this.group = m.readUInt16BE(p + 4);
      p += 4 + len;
    }
    // A TLS 1.2 ServerHello has no key_share: the group comes in ServerKeyExchange.
    if (this.group !== null && !hrr) this.done = true;
  }
}

const options = {
  cert: fs.readFileSync(arg('--cert')),
  key: fs.readFileSync(arg('--key')),
  minVersion: arg('--min-version', 'TLSv1.2'),
  maxVersion: arg('--max-version', 'TLSv1.3'),
};
if (arg('--groups')) options.ecdhCurve = arg('--groups');
const context = tls.createSecureContext(options);

const server = net.createServer((raw) => {
  const watcher = new GroupWatcher();
  const tap = new Duplex({
    write(chunk, encoding, callback) { watcher.feed(chunk); raw.write(chunk, callback); },
    final(callback) { raw.end(); callback(); },
    read() {},
  });
  raw.on('data', (d) => tap.push(d));
  raw.on('end', () => tap.push(null));
  raw.on('error', () => tap.destroy());
  const socket = new tls.TLSSocket(tap, {
    isServer: true,
    secureContext: context,
    ALPNProtocols: arg('--alpn') ? arg('--alpn').split(',') : undefined,
  });
  socket.on('secure', () => {
    const id = watcher.group;
    const name = id === null ? 'none' : (GROUPS[id] || `unknown(0x${id.toString(16)})`);
    const version = { 'TLSv1.3': 'TLS1.3', 'TLSv1.2': 'TLS1.2' }[socket.getProtocol()] || socket.getProtocol();
    const gid = id === null ? '0x0000' : `0x${id.toString(16).padStart(4, '0')}`;
    console.log(`HANDSHAKE group=${name} group_id=${gid} version=${version} ` +
      `resumed=${socket.isSessionReused()} ech=false server_name=${socket.servername || ''} ` +
      `alpn=${socket.alpnProtocol || ''}`);
    socket.pipe(socket);
  });
  socket.on('error', (e) => { console.log(`ERROR ${e.message}`); raw.destroy(); });
});
server.listen(Number(arg('--port', '0')), arg('--host', '127.0.0.1'), () => {
  const a = server.address();
  console.log(`ACCEPT ${a.address}:${a.port}`);
});
