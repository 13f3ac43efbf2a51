#!/usr/bin/env node
// Serve the OHIF viewer's built app (the dist/ folder of the npm package @ohif/app) on loopback, with the DICOMweb
// of an archive (Orthanc's plugin) proxied under the same origin, so the browser needs no CORS.
//
//   node serve_ohif.mjs DIST_FOLDER DICOMWEB_URL PORT
//
// DICOMWEB_URL is e.g. http://127.0.0.1:8042/dicom-web. Prints "listening on http://127.0.0.1:PORT" once ready.
// /app-config.js is replaced by a configuration with one DICOMweb data source (this origin's /dicom-web), the
// shape of OHIF's own platform/app/public/config/local_orthanc.js. Paths without a file are the single-page app's
// routes (/viewer?StudyInstanceUIDs=...): they get index.html.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { extname, join, normalize } from 'node:path';

const [dist, dicomwebUrl, portText] = process.argv.slice(2);
if (!dist || !dicomwebUrl || !portText) {
  console.error('usage: node serve_ohif.mjs DIST_FOLDER DICOMWEB_URL PORT');
  process.exit(2);
}
const port = Number(portText);
const origin = `http://127.0.0.1:${port}`;
const upstream = new URL(dicomwebUrl.replace(/\/$/, ''));

const appConfig = `window.config = ${JSON.stringify({
  routerBasename: '/',
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 1,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'dicomweb',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'dicomweb',
      configuration: {
        friendlyName: 'Orthanc on loopback',
        name: 'orthanc',
        wadoUriRoot: `${origin}/dicom-web`,
        qidoRoot: `${origin}/dicom-web`,
        wadoRoot: `${origin}/dicom-web`,
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true },
      },
    },
  ],
})};\n`;

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.map': 'application/json',
};

function proxy(request, response) {
  const target = new URL(upstream.pathname + request.url.slice('/dicom-web'.length), upstream);
  const forwarded = httpRequest(target, { method: request.method, headers: { ...request.headers, host: upstream.host } }, (answer) => {
    response.writeHead(answer.statusCode, answer.headers);
    answer.pipe(response);
  });
  forwarded.on('error', (error) => {
    response.writeHead(502, { 'content-type': 'text/plain' });
    response.end(`archive unreachable: ${error.message}`);
  });
  request.pipe(forwarded);
}

function serveFile(path, response) {
  response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  createReadStream(path).pipe(response);
}

const server = createServer((request, response) => {
  const { pathname } = new URL(request.url, origin);
  if (pathname === '/dicom-web' || pathname.startsWith('/dicom-web/')) {
    proxy(request, response);
    return;
  }
  if (pathname === '/app-config.js') {
    response.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
    response.end(appConfig);
    return;
  }
  const path = join(dist, normalize(decodeURIComponent(pathname)).replace(/^(\.\.[/\\])+/, ''));
  if (path.startsWith(dist) && existsSync(path) && statSync(path).isFile()) {
    serveFile(path, response);
  } else if (extname(pathname) && pathname !== '/viewer') {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  } else {
    serveFile(join(dist, 'index.html'), response);
  }
});

server.listen(port, '127.0.0.1', () => console.log(`listening on ${origin}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
