#!/bin/sh
# Build the training corpus for the small DeepSeek-V2 model.
# Needs Debian packages: r-base-core r-cran-janeaustenr r-cran-tokenizers python3
# Outputs (gitignored) in models/train/data/:
#   raw/austen_<n>.txt, raw/mobydick.txt   texts as shipped by the R packages
#   train.txt, val.txt                     cleaned prose; last ~3% of each book -> val
# Usage: sh models/train/corpus.sh   (from anywhere)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA="$HERE/data"
mkdir -p "$DATA/raw"

Rscript --vanilla - "$DATA/raw" <<'REOF'
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
b <- janeaustenr::austen_books()
books <- levels(b$book)
for (i in seq_along(books)) {
  txt <- as.character(b$text[b$book == books[i]])
  writeLines(txt, file.path(out, sprintf("austen_%d.txt", i)), useBytes = TRUE)
}
writeLines(books, file.path(out, "austen_titles.txt"))
writeLines(tokenizers::mobydick, file.path(out, "mobydick.txt"), useBytes = TRUE)
REOF

# /usr/bin/python3 on purpose (system interpreter; see README).
/usr/bin/python3 "$HERE/clean_corpus.py" "$DATA/raw" "$DATA"
