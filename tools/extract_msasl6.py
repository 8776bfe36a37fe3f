"""Rebuild ``data/msasl6``: the MS-ASL msasl6 videos as a signer-labelled aslrec data set.

Steps (re-runnable; an interrupted run resumes, finished clips are skipped):

1. Read ``../shared/data/msasl6/index.csv`` (:func:`aslrec.data.msasl.read_msasl_index`): one
   window per requested section of each download, its sign anchored at the end of the decoded
   video; windows whose sign lies mostly outside the file are left out (listed on stderr).
2. Write the kept windows as a plain video index, ``data/msasl6/windows.csv``
   (:mod:`aslrec.data.video_index`; ``aslrec extract`` can read the same format), so the
   segmentation inputs are on record next to the clips.
3. Extract it with aslrec's tracker (default :class:`TrackerOptions`) and the body
   (:class:`~aslrec.landmarks.pose.PoseTracker`, for body-relative hand positions) into
   ``data/msasl6`` (:func:`aslrec.workflows.extract.run_extraction`): each clip is the sign the
   streaming segmenter finds in its window, labelled, with signer = group = ``msasl<signer_id>``.

Usage::

    python -m tools.extract_msasl6              # about 4 min on one core
    python -m tools.extract_msasl6 --redo       # extract every clip again (e.g. new tracker)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aslrec.data.msasl import read_msasl_index
from aslrec.data.video_index import write_video_index

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "msasl6"
OUT = REPO / "data" / "msasl6"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--msasl", type=Path, default=SHARED, help="folder with index.csv")
    parser.add_argument("--out", type=Path, default=OUT, help="the data set folder to write")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redo", action="store_true", help="re-extract clips already stored")
    args = parser.parse_args()

    from aslrec.workflows.extract import run_extraction

    windows = read_msasl_index(args.msasl / "index.csv")
    for w in windows:
        if not w.kept:
            print(
                f"left out {w.clip_id}: {w.inside:.0%} of its sign ({w.sign_s[0]:.2f}-"
                f"{w.sign_s[1]:.2f} s of the original) is in the {w.video_s:.2f} s file",
                file=sys.stderr,
            )
    index = args.out / "windows.csv"
    write_video_index(index, [w.job() for w in windows if w.kept])
    summary = run_extraction(
        [], args.out, index=index, workers=args.workers, resume=not args.redo, body=True
    )
    summary.print()


if __name__ == "__main__":
    main()
