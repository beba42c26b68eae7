"""Running a notebook's tasks headless: ``cognia-nb run NOTEBOOK.ipynb`` and ``status``.

* ``_notebook``: reading the ``.ipynb`` (code cells, ``cognia:skip`` tags, kernelspec).
* ``_kernel``: one real kernel through ``jupyter_client``: execute code, read iopub.
* ``_supervise``: start, run the notebook, keep it up (restarts), stop within a grace.
* ``_status``: who holds tasks on a store (``cognia-nb status``).

The kernel side of the conversation is ``cognia_nb.jupyter._headless``.
"""
