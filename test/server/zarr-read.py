# Reads phasesr's OME-Zarr view over HTTP with Debian's python3-zarr + fsspec (+ aiohttp), as napari's
# reader would: open the group, take the multiscales from .zattrs, read a region of some datasets.
# argv: store URL, output folder, then DATASET:Y0:Y1:X0:X1 ... ; writes DATASET.raw (C-order bytes) and
# prints JSON {datasets: [{path, dtype, shape, chunks, scale}], regions: {path: {dtype, shape}}}.
import json
import os
import sys

import fsspec
import zarr

url, out = sys.argv[1], sys.argv[2]
group = zarr.open(fsspec.get_mapper(url), mode='r')
ms = group.attrs['multiscales'][0]
datasets = []
for d in ms['datasets']:
    a = group[d['path']]
    datasets.append({'path': d['path'], 'dtype': a.dtype.str, 'shape': list(a.shape), 'chunks': list(a.chunks),
                     'scale': d['coordinateTransformations'][0]['scale']})
regions = {}
for spec in sys.argv[3:]:
    path, y0, y1, x0, x1 = spec.split(':')
    region = group[path][int(y0):int(y1), int(x0):int(x1)]
    with open(os.path.join(out, path + '.raw'), 'wb') as f:
        f.write(region.tobytes(order='C'))
    regions[path] = {'dtype': region.dtype.str, 'shape': list(region.shape)}
print(json.dumps({'version': ms['version'], 'axes': ms['axes'], 'datasets': datasets, 'regions': regions}))
