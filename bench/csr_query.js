'use strict';
// The canonical (sorted, RFC 3986-encoded) query of a CreateCertificateWithCsrRequest for the
// CSR in the file named by argv[2], as bench/loadgen sends it.
const fs = require('fs');
const encode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const params = {
  Csr: fs.readFileSync(process.argv[2], 'utf8'),
  Email: 'ops@example.com',
  Phone: '13800000000',
  ProductCode: 'geotrust-dv-1-starter',
  Username: 'Ops',
  ValidateType: 'DNS',
};
console.log(Object.keys(params).sort().map((k) => `${k}=${encode(params[k])}`).join('&'));
