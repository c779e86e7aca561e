"""What the benchmark families share, so that no family imports another.

- :mod:`.folders`: the repository, the git-ignored results folder, JSON in and out;
- :mod:`.cli`: the command-line options every family takes (``--out``, ``--results``,
  ``--quick``, ``--jobs``, ``--force``, ``--report-only``) and name lists;
- :mod:`.machine`: single-threaded runs, the machine, package versions, the command line;
- :mod:`.pool`: running many seeded runs, in processes when asked;
- :mod:`.markdown`: tables and numbers for the reports;
- :mod:`.space`: one search-space description and its adapters to every tuner library;
- :mod:`.functions`: synthetic test functions with known optima (Hartmann-6 ...).
"""
