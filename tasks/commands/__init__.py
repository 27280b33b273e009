"""The commands whose logic spans the task packages, as functions: ``main(argv)`` of ``tools/predict.py``
(:mod:`.predict`: a classifier, forecaster or detector on files), ``tools/export.py`` (:mod:`.export`: a classifier's
or forecaster's checkpoint to a folder) and ``tools/hub.py`` (:mod:`.hub`: publishing a folder).

The task packages do not import each other (``tasks.common`` is what they share), so what chooses between them lives
here, above them; the tools only call these functions through ``tasks.common.cli.run_command``. Nothing is imported
until a command is used.
"""
