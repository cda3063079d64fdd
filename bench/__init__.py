"""horn's benchmarks: the suite of the performance issue (`python -m bench`, `make bench`),
one module per group of figures, and the dashboard's benchmark (`bench/dashboard.py`).

- `training`: local Keras vs horn, wall time of `fit` (MLP, convnet)
- `latency`: a tiny fit's fixed cost, and the Celery+Redis floor
- `batches`: `train_on_batch` / `predict_on_batch`
- `datapath`: upload MB/s, bytes of a second fit, predict results MB/s
- `server_load`: `GET /v1/jobs/{id}` under 50 clients, submissions per second
- `events`: epoch end on the worker -> `on_epoch_end` in the client
- `stability`: the worker child's memory across many jobs
- `scaleout`: one worker vs two

Infrastructure: `stack` (the processes), `local_keras` (the reference process),
`celery_floor`, `loadgen` (HTTP load), `models`, `sizes`, `report`, `context`.
"""
