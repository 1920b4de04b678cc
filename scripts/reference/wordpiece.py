#!/usr/bin/env python3
"""BERT WordPiece fixtures decoded by transformers itself (its slow BertTokenizer, which CATR's
predict.py uses, and the fast one built on the Rust `tokenizers`).

Writes into test/fixtures/wordpiece/:
  vocab.txt              a small vocabulary laid out like bert-base-uncased's: [PAD]=0,
                         [unused0..98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103,
                         more [unused], punctuation, words and ## pieces
  json/                  the same tokenizer as transformers' fast tokenizer saves it
                         (tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt)
  expected.json          for each text: the ids (without and with [CLS]/[SEP]); for each id list:
                         decode(ids, skip_special_tokens=True) with clean_up_tokenization_spaces
                         True (transformers 4.36's default, bert-base-uncased's setting) and False,
                         from the slow and the fast tokenizer

transformers is not a Debian package: run with a Python that has it, e.g. a venv with the wheels of
transformers 4.57.6 / tokenizers 0.22.2 (the decode rules used here are unchanged since 4.36; only
the tokenizer code is used, so its huggingface_hub version check may be relaxed). The fixtures
were written that way:
  python scripts/reference/wordpiece.py test/fixtures
"""
import json
import os
import shutil
import sys

import transformers
from transformers import BertTokenizer, BertTokenizerFast

WORDS = """
a an the two people man woman men women on in of with at to and is are it its that
ski skis standing snowy hill snow dog cat sitting table red blue white black
cup coffee plate pizza train station street sign stop bus car riding horse
don isn can won t s m re ve ll d n he you we they i sk quoted
play run jump walk look cook
cafe 1 2 3 10 100
""".split()
PIECES = "##s ##ing ##ed ##er ##y ##ly ##n ##t ##a ##e ##o ##i ##'s ##board ##ball ##sk ##is ##2 ##0 ## ##es".split()
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["\u4e00", "\u5c71"]  # 一 山: CJK split per char


def vocabulary():
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"[unused{i}]" for i in range(99, 104)]
    letters = list("abcdefghijklmnopqrstuvwxyz")
    tokens += PUNCT + letters + [w for w in WORDS if w not in letters] + PIECES
    assert len(tokens) == len(set(tokens)), "duplicate token"
    return tokens


TEXTS = [
    "Two people on skis standing on a snowy hill.",
    "A man riding a horse, isn't he?",
    "Don't stop: the dog's skateboard!",
    "The CAFÉ (café) sells 100 cups of coffee",
    "snowboarding skiers sitting",
    "a 山 hill 一",
    "unknownword xyzzy",
    "  spaces\tand\nnewlines  ",
    "\"quoted\" [brackets] {braces}; semi-colon - dash ... dots",
    "I'm, you're, we've, they'll, he'd",
    "",
]


def ids_of(tok, *names):
    return [tok.convert_tokens_to_ids(n) for n in names]


def id_lists(tok):
    """Generated-caption-like id lists: [CLS] ... [SEP] [PAD]..., as CATR's template holds them."""
    cls, sep, pad, unk, mask = ids_of(tok, "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")
    t = lambda s: ids_of(tok, *s.split())  # noqa: E731
    return [
        [cls] + t("two people on ski ##s standing on a snow ##y hill") + [sep, pad, pad],
        [cls] + t("a man riding a horse , isn ' t he ?") + [sep],
        t("don ' t stop : the dog ' s sk ##board !"),
        t("i ' m , you ' re , we ' ve , they ' ll , he ' d"),
        t("##s cat ##s"),
        t("## ##ing play ## ##ed"),
        t("a [unused0] b [unused100] c") + [unk, mask] + t("d ."),
        t("( cafe ) \" quoted \" [ x ] - y ... z"),
        t("1 , 2 ##0 ##0 . 3 % $ 10"),
        t("a . b ? c ! d , e n ' t f ' m g ' s h ' ve i ' re"),
        t("cook ##ed ##ly run ##n ##er ##s"),
        t("a ' , b ' . c ' ! d"),  # slow and fast differ: the fast decoder cleans each piece first
        [cls, sep, pad],
        [],
    ]


def decode(tok, ids, clean):
    return tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=clean)


def main(out_root):
    out = os.path.join(out_root, "wordpiece")
    os.makedirs(out, exist_ok=True)
    vocab_path = os.path.join(out, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocabulary()) + "\n")
    slow = BertTokenizer(vocab_path)  # do_lower_case=True, tokenize_chinese_chars=True: bert-base-uncased's
    fast = BertTokenizerFast(vocab_path)
    json_dir = os.path.join(out, "json")
    shutil.rmtree(json_dir, ignore_errors=True)
    fast.save_pretrained(json_dir)
    texts = []
    for text in TEXTS:
        plain = slow.encode(text, add_special_tokens=False)
        assert plain == fast.encode(text, add_special_tokens=False), text
        texts.append({"text": text, "ids": plain, "ids_special": slow.encode(text),
                      "tokens": slow.convert_ids_to_tokens(plain)})
    decodes = []
    for ids in id_lists(slow):
        entry = {"ids": ids, "tokens": slow.convert_ids_to_tokens(ids)}
        for name, tok in (("slow", slow), ("fast", fast)):
            entry[f"{name}_clean"] = decode(tok, ids, True)
            entry[f"{name}_raw"] = decode(tok, ids, False)
        entry["capitalized"] = entry["slow_clean"].capitalize()  # what CATR's predict.py prints
        decodes.append(entry)
    meta = {"transformers": transformers.__version__, "vocab_size": slow.vocab_size, "texts": texts, "decodes": decodes}
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    for d in decodes:
        flag = "" if d["slow_clean"] == d["fast_clean"] and d["slow_raw"] == d["fast_raw"] else "  (slow != fast)"
        print(repr(d["slow_clean"]), repr(d["fast_clean"]) if flag else "", flag)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures")
