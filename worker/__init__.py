"""horn's worker: a Celery app whose child processes run Keras on TensorFlow.

TensorFlow and Keras are imported only inside the child processes (see `app.py`),
never in the parent before it forks.
"""
