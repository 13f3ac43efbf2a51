#!/usr/bin/env node
// What cornerstone3D's own DICOM decoding makes of DICOM files, run under node (no browser, no WebGL).
//
//   node cornerstone_decode.mjs [--no-float-textures] FILE.dcm [FILE.dcm ...]   (all files: one series)
//
// Prints one JSON object on stdout:
//   versions        the installed @cornerstonejs/core, @cornerstonejs/dicom-image-loader and dicom-parser
//   canRenderFloatTextures   what cornerstone's init.js answered (see "Environment" below)
//   stack           one entry per frame as a StackViewport gets it: imageLoader.loadAndCacheImage('dicomfile:N'),
//                   the real wadouri loader; dataType, min/maxPixelValue, slope, intercept, windowCenter/Width,
//                   preScaled and the pixel values cornerstone hands to the renderer (after its modality LUT)
//   minMaxRule      getPixelDataTypeFromMinMax(rescaled min, rescaled max) per frame and for the whole series
//   volume          a real StreamingImageVolume (volumeLoader.createAndCacheVolume + load) as a VolumeViewport
//                   (MPR) gets it, made twice: after the stack images are cached (as OHIF does when a stack was
//                   shown first) and from an empty cache; its dataType and its voxel values, frame by frame
//
// Cornerstone's code this exercises (paths inside node_modules/@cornerstonejs/, version in package.json):
//   dicom-image-loader/dist/esm/shared/getPixelDataTypeFromMinMax.js  getPixelDataTypeFromMinMax(min, max):
//       integer min and max pick an integer typed array (0..255 -> Uint8Array), anything else Float32Array;
//       a rescaled FA frame spanning exactly 0.0..1.0 gets Uint8Array (cornerstone3D issue #2706 / #1925).
//   dicom-image-loader/dist/esm/decodeImageFrameWorker.js  postProcessDecodedPixels -> _handlePreScaleSetup ->
//       _getDefaultPixelDataArray: the stored values are copied into that typed array, then applyModalityLUT
//       (shared/scaling/scaleArray.js) writes value*slope+intercept back into it, truncating fractions.
//   dicom-image-loader/dist/esm/imageLoader/createImage.js  createImage: image.minPixelValue/maxPixelValue,
//       slope, intercept, windowCenter/windowWidth (from the VOI LUT module, else toWindowLevel(min, max)).
//   core/dist/esm/utilities/windowLevel.js  toLowHighRange(width, center, function): the value range shown
//       black..white; for LINEAR it is center - 0.5 -+ (width - 1) / 2, so width 1 gives an empty range (the
//       "WindowWidth 1" half of #2706; the CPU fallback's getVOILut.js divides by width - 1).
//   core/dist/esm/utilities/generateVolumePropsFromImageIds.js  _determineDataType: the volume takes the
//       typed array of cached images (_getDataTypeFromCache), else Float32Array for 16-bit data with a
//       fractional slope or intercept when float textures can be rendered, else Int16/Uint16Array.
//   core/dist/esm/cache/classes/BaseStreamingImageVolume.js  getLoaderImageOptions: targetBuffer.type = that
//       dataType; decodeImageFrameWorker.js validatePixelDataType then keeps or replaces it.
//
// Environment: node has no DOM, no Web Worker and no WebGL. This script gives createImage a canvas stub (used
// only for colour JPEG), FileReader for the 'dicomfile:' scheme, and runs the decode worker's own function
// (decodeImageFrameWorker.js decodeImageFrame, which the browser runs in a Worker through comlink) in-process.
// Without WebGL, renderingCapabilities reports no webgl2, so canRenderFloatTextures() (core init.js) answers
// !isIOS() = true: what a desktop browser with WebGL2 and OES_texture_float_linear answers too.
// --no-float-textures makes it answer false, as on a GPU without float-linear textures (or iOS).

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const noFloatTextures = process.argv.includes('--no-float-textures');
const files = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node cornerstone_decode.mjs [--no-float-textures] FILE.dcm [FILE.dcm ...]');
  process.exit(2);
}

// Stand-ins for the browser globals createImage and the 'dicomfile:' loader touch; nothing else uses them here.
globalThis.navigator = { platform: noFloatTextures ? 'iPhone' : 'Linux x86_64', maxTouchPoints: 0, hardwareConcurrency: 1, userAgent: 'node' };
globalThis.document = { createElement: () => ({ getContext: () => null }) };
globalThis.File ??= (await import('node:buffer')).File; // a global from node 20 on
globalThis.FileReader = class {
  readAsArrayBuffer(blob) {
    blob.arrayBuffer().then((result) => this.onload({ target: { result } }), (error) => this.onerror(error));
  }
};

const core = await import('@cornerstonejs/core');
const dicomImageLoader = await import('@cornerstonejs/dicom-image-loader');
const dicomParser = (await import('dicom-parser')).default;
// Not in the package's "exports": imported by file, the same module the loader itself imports.
const MODULES = new URL('./node_modules/', import.meta.url);
const getPixelDataTypeFromMinMax = (await import(new URL('@cornerstonejs/dicom-image-loader/dist/esm/shared/getPixelDataTypeFromMinMax.js', MODULES))).default;

const { cache, imageLoader, volumeLoader, metaData, getWebWorkerManager } = core;
const { windowLevel } = core.utilities;

function packageVersion(name) {
  return JSON.parse(readFileSync(new URL(`${name}/package.json`, MODULES), 'utf8')).version;
}

/** Register cornerstone's own loaders and metadata providers; decode tasks run the worker's code in-process. */
function initCornerstone() {
  core.init();
  dicomImageLoader.wadouri.register();
  volumeLoader.registerVolumeLoader('cornerstoneStreamingImageVolume', core.cornerstoneStreamingImageVolumeLoader);
  const manager = getWebWorkerManager();
  manager.executeTask = async (workerName, methodName, args) => {
    if (workerName !== 'dicomImageLoader' || methodName !== 'decodeTask') {
      throw new Error(`no in-process stand-in for worker task ${workerName}.${methodName}`);
    }
    const { imageFrame, transferSyntax, pixelData, decodeConfig, options } = args;
    return dicomImageLoader.decodeImageFrame(imageFrame, transferSyntax, pixelData, decodeConfig, options);
  };
}

/** One imageId per frame: 'dicomfile:N' for single-frame files, 'dicomfile:N?frame=K' (K from 1) for multi-frame. */
function imageIdsFor(paths) {
  const imageIds = [];
  for (const path of paths) {
    const bytes = readFileSync(path);
    const frames = dicomParser.parseDicom(new Uint8Array(bytes), { untilTag: 'x7fe00010' }).intString('x00280008') || 1;
    const index = dicomImageLoader.wadouri.fileManager.add(new File([bytes], basename(path)));
    if (frames === 1) {
      imageIds.push({ path, frame: 1, imageId: `dicomfile:${index}` });
    } else {
      for (let frame = 1; frame <= frames; frame += 1) {
        imageIds.push({ path, frame, imageId: `dicomfile:${index}?frame=${frame}` });
      }
    }
  }
  return imageIds;
}

const typeName = (constructor) => constructor?.name ?? String(constructor);

function describeImage({ path, frame, imageId }, image) {
  const modalityLut = metaData.get('modalityLutModule', imageId) || {};
  const scaledMin = image.minPixelValue;
  const scaledMax = image.maxPixelValue;
  return {
    file: path,
    frame,
    imageId,
    rows: image.rows,
    columns: image.columns,
    dataType: typeName(image.getPixelData().constructor),
    preScaled: Boolean(image.preScale?.scaled),
    slope: image.slope,
    intercept: image.intercept,
    rescaleSlopeInMetadata: modalityLut.rescaleSlope ?? null,
    minPixelValue: scaledMin,
    maxPixelValue: scaledMax,
    windowCenter: image.windowCenter ?? null,
    windowWidth: image.windowWidth ?? null,
    voiLUTFunction: image.voiLUTFunction ?? null,
    // The range a viewport maps to black..white: core utilities/windowLevel.js toLowHighRange, which the
    // viewports call with the image's window. DICOM's LINEAR with width 1 is a threshold: lower === upper.
    voiRange: image.windowWidth === undefined ? null : windowLevel.toLowHighRange(image.windowWidth, image.windowCenter, image.voiLUTFunction),
    typeFromMinMax: typeName(getPixelDataTypeFromMinMax(scaledMin, scaledMax)),
    pixels: Array.from(image.getPixelData()),
  };
}

/** A real StreamingImageVolume over the series, loaded; its dataType and its voxels frame by frame. */
async function loadVolume(imageIds, volumeId) {
  const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds: imageIds.map((entry) => entry.imageId) });
  await new Promise((resolve, reject) => {
    volume.load((event) => (event?.error ? reject(event.error) : resolve()));
    setTimeout(() => reject(new Error('volume did not load within 60 s')), 60000).unref();
  });
  const voxels = volume.voxelManager.getCompleteScalarDataArray();
  const [columns, rows, depth] = volume.dimensions;
  const frameSize = columns * rows;
  const frames = [];
  for (let k = 0; k < depth; k += 1) {
    frames.push({ imageId: volume.imageIds[k], voxels: Array.from(voxels.subarray(k * frameSize, (k + 1) * frameSize)) });
  }
  return { dataType: typeName(voxels.constructor), dimensions: volume.dimensions, isPreScaled: volume.isPreScaled ?? null, frames };
}

async function main() {
  initCornerstone();
  const imageIds = imageIdsFor(files);
  const stack = [];
  for (const entry of imageIds) {
    const image = await imageLoader.loadAndCacheImage(entry.imageId);
    stack.push(describeImage(entry, image));
  }
  const seriesMin = Math.min(...stack.map((image) => image.minPixelValue));
  const seriesMax = Math.max(...stack.map((image) => image.maxPixelValue));
  const result = {
    versions: {
      '@cornerstonejs/core': packageVersion('@cornerstonejs/core'),
      '@cornerstonejs/dicom-image-loader': packageVersion('@cornerstonejs/dicom-image-loader'),
      'dicom-parser': packageVersion('dicom-parser'),
    },
    canRenderFloatTextures: core.canRenderFloatTextures(),
    stack,
    minMaxRule: { seriesMin, seriesMax, seriesType: typeName(getPixelDataTypeFromMinMax(seriesMin, seriesMax)) },
    volume: {},
  };
  // Volumes need one plane per imageId; multi-frame files become one volume of their frames likewise.
  try {
    result.volume.afterStack = await loadVolume(imageIds, 'cornerstoneStreamingImageVolume:afterStack');
    cache.purgeCache();
    result.volume.emptyCache = await loadVolume(imageIds, 'cornerstoneStreamingImageVolume:emptyCache');
  } catch (error) {
    result.volume.error = String(error?.stack ?? error);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error?.stack ?? error);
    process.exit(1);
  },
);
