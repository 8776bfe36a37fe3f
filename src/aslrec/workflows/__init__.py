"""Run-level workflows: what a command does from start to end (train, evaluate, calibrate,
export, extract, predict, transcribe/live, collect).

Each composes the domain packages below it (landmarks, data, models, runs, training, inference,
evaluation, export) and is what ``aslrec.cli`` delegates to; nothing below imports from here.
"""
