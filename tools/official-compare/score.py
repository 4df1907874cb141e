"""Scores test embeddings from either code with one protocol: cosine of mu, own-image relevance,
R-Precision and R@1 both ways (i2t: R = the image's captions; t2i: R = 1).

  python3 score.py FILE.npz | FILE.safetensors (the kit's `pcme embed` output, with FILE.safetensors.json)
"""
import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        assert v['dtype'] == 'F32', v['dtype']
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(v['shape'])
    return out


def load(path):
    if path.endswith('.npz'):
        d = np.load(path)
        return d['image_mu'], d['caption_mu'], list(d['image_ids']), list(d['caption_image_ids'])
    t = load_safetensors(path)
    index = json.load(open(path + '.json'))
    return t['image_mu'], t['caption_mu'], index['images'], [c['image_id'] for c in index['captions']]


def r_precision(scores, relevant):
    out = []
    for q in range(scores.shape[0]):
        r = int(relevant[q].sum())
        top = np.argsort(-scores[q], kind='stable')[:r]
        out.append(relevant[q, top].mean())
    return 100 * float(np.mean(out))


def recall1(scores, relevant):
    return 100 * float(relevant[np.arange(scores.shape[0]), scores.argmax(1)].mean())


def main(path):
    img, cap, img_ids, cap_img = load(path)
    img = img / np.linalg.norm(img, axis=1, keepdims=True)
    cap = cap / np.linalg.norm(cap, axis=1, keepdims=True)
    pos = {str(i): k for k, i in enumerate(img_ids)}
    rel = np.zeros((len(img_ids), len(cap_img)), dtype=bool)
    for c, i in enumerate(cap_img):
        rel[pos[str(i)], c] = True
    s = img @ cap.T
    res = {'rp_i2t': r_precision(s, rel), 'rp_t2i': r_precision(s.T, rel.T), 'r1_i2t': recall1(s, rel), 'r1_t2i': recall1(s.T, rel.T)}
    print(json.dumps({k: round(v, 2) for k, v in res.items()}))
    return res


if __name__ == '__main__':
    main(sys.argv[1])
