"""Trains naver-ai/pcme's own model, criterion, optimizer, schedule and training loop (engine/trainer.py) on
a COCO-format set written by the Exporter, then writes the test set's mu (and logsigma) to an .npz for
score.py. Run with Debian's python3 (python3-torch 1.13, python3-torchvision, python3-munch, python3-nltk).

  /usr/bin/python3 official_run.py --official DIR --data DATA --out OUT.npz [--epochs 6] [--optimizer adamp|adam]
      [--train-transform official|resize] [--eval-transform official|resize] [--seed 0] [--t-max 30]

What is replaced (everything else is the official code; the model patch is official-model.patch):
  - adamp: shims/adamp.py (clovaai/AdamP's AdamP), since Debian has no adamp package;
  - pycocotools: shims/pycocotools (the three COCO methods CocoCaptionsCap calls);
  - torchtext: an empty module (only GloVe/FastText loading uses it; wemb_type is None here); pandas: an empty
    module (only the evaluation report's flatten_dict uses it);
  - nltk.word_tokenize needs the punkt data Debian does not ship: NLTKWordTokenizer().tokenize, which is what
    word_tokenize applies to a one-sentence caption;
  - the vocabulary is built from the training captions as datasets/vocabs/make_vocab.py does (threshold 1);
  - the evaluator is not used (the test embeddings are scored by score.py, the same code as for the kit).
"""
import argparse
import json
import os
import sys
import time
import types
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--official', required=True)
ap.add_argument('--data', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--epochs', type=int, default=6)
ap.add_argument('--optimizer', default='adamp')
ap.add_argument('--lr', type=float, default=2e-4)
ap.add_argument('--t-max', type=int, default=30)
ap.add_argument('--train-transform', default='official', choices=['official', 'resize'])
ap.add_argument('--eval-transform', default='official', choices=['official', 'resize'])
ap.add_argument('--crop', type=int, default=64)
ap.add_argument('--cnn', default='small')
ap.add_argument('--embed-dim', type=int, default=128)
ap.add_argument('--word-dim', type=int, default=300)
ap.add_argument('--batch-size', type=int, default=128)
ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--threads', type=int, default=2)
args = ap.parse_args()

sys.path.insert(0, os.path.join(here, 'shims'))
sys.path.insert(0, args.official)
sys.modules['torchtext'] = types.ModuleType('torchtext')
sys.modules['pandas'] = types.ModuleType('pandas')  # only utils.serialize_utils.flatten_dict (evaluation reports) uses it
os.chdir(args.official)

import munch  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402
from nltk.tokenize import NLTKWordTokenizer  # noqa: E402

import datasets._transforms as official_transforms  # noqa: E402
official_transforms.word_tokenize = NLTKWordTokenizer().tokenize
from datasets._transforms import imagenet_transform, caption_transform, imagenet_normalize  # noqa: E402
from datasets._dataloader import image_to_caption_collate_fn  # noqa: E402
from datasets.coco import CocoCaptionsCap  # noqa: E402
from datasets.vocab import Vocabulary  # noqa: E402
from engine import TrainerEngine  # noqa: E402
from logger import PythonLogger  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
np.random.seed(args.seed)
import random  # noqa: E402
random.seed(args.seed)

train_json = os.path.join(args.data, 'captions_train.json')
test_json = os.path.join(args.data, 'captions_test.json')
image_root = os.path.join(args.data, 'images')

vocab = Vocabulary()
counter = Counter()
for a in json.load(open(train_json))['annotations']:
    counter.update(official_transforms.word_tokenize(a['caption'].lower()))
for w in ['<pad>', '<start>', '<end>', '<unk>']:
    vocab.add_word(w)
for w in sorted(counter):
    vocab.add_word(w)

resize = args.crop * 256 // 224


def image_transform(kind, train):
    if kind == 'resize':
        return transforms.Compose([transforms.Resize((args.crop, args.crop)), transforms.ToTensor(), imagenet_normalize()])
    return imagenet_transform(resize_size=resize, crop_size=args.crop, random_resize_crop=train)


train_set = CocoCaptionsCap(image_root, train_json, transform=image_transform(args.train_transform, True),
                            target_transform=caption_transform(vocab, 0))
train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=0,
                                           collate_fn=image_to_caption_collate_fn)

config = munch.munchify({
    'dataloader': {'batch_size': args.batch_size, 'random_erasing_prob': 0.0, 'caption_drop_prob': 0.0},
    'model': {'name': 'pcme', 'embed_dim': args.embed_dim, 'cnn_type': args.cnn, 'wemb_type': None, 'word_dim': args.word_dim,
              'cache_dir': None, 'img_attention': True, 'txt_attention': True, 'img_finetune': True, 'txt_finetune': True,
              'img_probemb': True, 'txt_probemb': True, 'no_sigma_ln': True, 'n_samples_inference': 7, 'eval_method': 'matmul'},
    'optimizer': {'name': args.optimizer, 'learning_rate': args.lr, 'weight_decay': 0.0},
    'lr_scheduler': {'name': 'cosine_annealing', 'T_max': args.t_max},
    'criterion': {'name': 'pcme', 'init_negative_scale': 15, 'init_shift': 15, 'num_samples': 7, 'vib_beta': 1e-5, 'uniform_lambda': 0},
    'train': {'grad_clip': 2, 'log_step': 10, 'use_fp16': False},
})


class NoEvaluator:
    def set_model(self, m): pass
    def set_criterion(self, c): pass
    def set_logger(self, l): pass


engine = TrainerEngine(device='cpu')
engine.set_logger(PythonLogger())
engine.create(config, vocab.word2idx, NoEvaluator())
ckpt = args.out + '.pth'
start = time.time()
engine.train(train_loader, n_epochs=args.epochs, val_loaders=None, model_save_to=ckpt, best_model_save_to=ckpt)
train_seconds = time.time() - start
os.remove(ckpt)

# Test embeddings: mu = the l2-normalised mean (n_samples_inference = 0 returns it instead of samples).
model = engine.model
model.eval()
model.img_enc.n_samples_inference = 0
model.txt_enc.n_samples_inference = 0
test = json.load(open(test_json))
eval_tf = image_transform(args.eval_transform, False)
img_ids = [im['id'] for im in test['images']]
img_mu, img_ls = [], []
with torch.no_grad():
    for i in range(0, len(img_ids), 256):
        batch = torch.stack([eval_tf(Image.open(os.path.join(image_root, im['file_name'])).convert('RGB')) for im in test['images'][i:i + 256]])
        o = model.image_forward(batch)
        img_mu.append(o['embedding']); img_ls.append(o['logsigma'])
    tok = caption_transform(vocab, 0)
    caps = [(a['id'], a['image_id'], tok(a['caption'])) for a in test['annotations']]
    cap_mu = {}
    for i in range(0, len(caps), 256):
        chunk = sorted(caps[i:i + 256], key=lambda c: -len(c[2]))
        lengths = torch.tensor([len(c[2]) for c in chunk])
        tokens = torch.zeros(len(chunk), int(lengths.max())).long()
        for k, c in enumerate(chunk):
            tokens[k, :len(c[2])] = c[2].long()
        o = model.text_forward(tokens, lengths)
        for k, c in enumerate(chunk):
            cap_mu[c[0]] = (o['embedding'][k], o['logsigma'][k])
np.savez(args.out,
         image_ids=np.array(img_ids), image_mu=torch.cat(img_mu).numpy(), image_h=2 * torch.cat(img_ls).numpy(),
         caption_ids=np.array([c[0] for c in caps]), caption_image_ids=np.array([c[1] for c in caps]),
         caption_mu=torch.stack([cap_mu[c[0]][0] for c in caps]).numpy(), caption_h=2 * torch.stack([cap_mu[c[0]][1] for c in caps]).numpy(),
         steps=np.array(args.epochs * len(train_loader)), train_seconds=np.array(train_seconds))
print(json.dumps({'steps': args.epochs * len(train_loader), 'train_seconds': round(train_seconds, 1),
                  'a': engine.criterion.negative_scale.item(), 'b': engine.criterion.shift.item()}))
