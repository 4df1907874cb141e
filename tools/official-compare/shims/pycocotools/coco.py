"""The part of pycocotools.coco.COCO that naver-ai/pcme's CocoCaptionsCap uses (Debian has no pycocotools)."""
import json
from collections import defaultdict


class COCO:
    def __init__(self, annotation_file=None):
        self.dataset, self.anns, self.imgs = {}, {}, {}
        self.imgToAnns = defaultdict(list)
        if annotation_file is not None:
            with open(annotation_file) as f:
                self.dataset = json.load(f)
            self.createIndex()

    def createIndex(self):
        self.anns = {a['id']: a for a in self.dataset.get('annotations', [])}
        self.imgs = {i['id']: i for i in self.dataset.get('images', [])}
        self.imgToAnns = defaultdict(list)
        for a in self.anns.values():
            self.imgToAnns[a['image_id']].append(a)

    def loadAnns(self, ids):
        return [self.anns[i] for i in ids] if isinstance(ids, (list, tuple)) else [self.anns[ids]]

    def loadImgs(self, ids):
        return [self.imgs[i] for i in ids] if isinstance(ids, (list, tuple)) else [self.imgs[ids]]
