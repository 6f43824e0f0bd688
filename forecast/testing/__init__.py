"""``check_forecaster``: the method contract, checked on small data of every kind.

In the spirit of scikit-learn's ``check_estimator``: :func:`check_forecaster` runs a method
through ``fit``, ``predict`` (``kind="observed"`` and ``"mean"``), ``threshold``,
``sample``, a backtest job on every backend (``local``, ``processes``, ``dask``: identical
results), a settings round trip (``learn_context`` in this process, serialised to JSON,
used in a worker process: identical forecast) and the leak check (every row of a model
above the cut-off perturbed, then deleted: identical forecast), on the fixtures of
:data:`FIXTURES`:

``per_question``        per-question 0/1 results (three BIG-G tasks);
``per_question_probs``  per-question results with ``p_correct`` and ``loglik`` (JSON text);
``lmeval``              an lm-evaluation-harness ``--log_samples`` folder of eight Pythia
                        models, a multiple-choice and a generated task (:func:`write_lmeval_folder`);
``group``               difficulty-group aggregates with whole-task scores (shipped
                        ``slice_sandwich``, two tasks);
``task_level``          task-level data of many families (shipped ``obsscaling``, six tasks
                        and six families);
``ladder``              a model ladder with checkpoints (shipped ``olmo_ladder``, two tasks);
``sampled``             sampled answers (``n_samples``, ``n_correct``);
``digits``              the shipped ``digits`` data.

A method either passes on a fixture or its tags (:class:`~forecast.methods.contract.ForecasterTags`)
declare it does not handle the fixture's kind of data, and then it must refuse it with one
line (:class:`~forecast.errors.NotApplicable`).  A failed check raises ``AssertionError``
naming the method, the fixture and the step.

Fixtures are built fresh on each call (no module-level cache); pass them in
(``fixtures=``) to reuse them.

Two modules: :mod:`forecast.testing.fixtures` (the data, and the leak check's changes to
them) and :mod:`forecast.testing.check` (the check); every name is importable from here.
"""

from __future__ import annotations

from forecast.testing.check import (
    BACKENDS,
    TOO_FEW_MODELS,
    CheckResult,
    check_forecaster,
    check_on_fixture,
    quick_params,
    results_table,
)
from forecast.testing.fixtures import (
    BIGG_TASKS,
    CHECK_TASK,
    FAMILIES,
    FAMILY_TASKS,
    FIXTURES,
    GROUP_TASKS,
    LADDER_TASKS,
    PYTHIA,
    held_out_rows,
    make_fixture,
    perturb,
    subset,
    write_lmeval_folder,
)

__all__ = ["FIXTURES", "BACKENDS", "CheckResult", "check_forecaster", "check_on_fixture", "make_fixture",
           "write_lmeval_folder", "perturb", "held_out_rows", "quick_params", "results_table", "subset",
           "BIGG_TASKS", "CHECK_TASK", "FAMILIES", "FAMILY_TASKS", "GROUP_TASKS", "LADDER_TASKS", "PYTHIA",
           "TOO_FEW_MODELS"]
