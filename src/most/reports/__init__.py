"""Reports: ``results.json`` I/O (:mod:`.results`), Markdown tables (:mod:`.tables`) and PNG figures
(:mod:`.figures`), built from an :class:`~most.experiments.base.ExperimentResult` or plain arrays."""
