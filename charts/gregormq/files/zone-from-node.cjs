// Init container of the GregorMQ chart: looks up the zone label of the node this pod runs on and
// writes it to ZONE_FILE, where the broker container's start command reads it into GREGOR_ZONE.
// Pods cannot see node labels through the downward API, hence the one API call. Runs on the
// broker image's Node.js with no dependencies.
'use strict';
const fs = require('node:fs');
const https = require('node:https');

// SA_DIR is overridable only so the script can be tried outside a cluster.
const SA_DIR = process.env.SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
const nodeName = process.env.NODE_NAME;
const label = process.env.ZONE_LABEL || 'topology.kubernetes.io/zone';
const outFile = process.env.ZONE_FILE || '/etc/gregormq/zone/zone';

function fail(message) {
  process.stderr.write(`zone-from-node: ${message}\n`);
  process.exit(1);
}

if (!nodeName) fail('NODE_NAME is not set (expected from the downward API: spec.nodeName)');
const host = process.env.KUBERNETES_SERVICE_HOST;
if (!host) fail('KUBERNETES_SERVICE_HOST is not set: not running in a Kubernetes pod?');

const req = https.get(
  {
    host,
    port: process.env.KUBERNETES_SERVICE_PORT || 443,
    path: `/api/v1/nodes/${encodeURIComponent(nodeName)}`,
    ca: fs.readFileSync(`${SA_DIR}/ca.crt`),
    headers: { authorization: `Bearer ${fs.readFileSync(`${SA_DIR}/token`, 'utf8').trim()}` },
    timeout: 10_000,
  },
  (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (res.statusCode !== 200) fail(`GET node ${nodeName}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
      let zone = '';
      try {
        zone = JSON.parse(body).metadata?.labels?.[label] ?? '';
      } catch (err) {
        fail(`GET node ${nodeName}: response is not JSON (${err.message})`);
      }
      // A node without the label is not an error: the broker then runs without a zone.
      fs.writeFileSync(outFile, zone);
      process.stdout.write(`zone-from-node: node ${nodeName} label ${label} = "${zone}"\n`);
    });
  },
);
req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
req.on('error', (err) => fail(`GET node ${nodeName}: ${err.message}`));
