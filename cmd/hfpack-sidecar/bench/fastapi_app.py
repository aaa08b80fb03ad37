"""The baseline: the same handler behind FastAPI under uvicorn, the stack of
Vertex AI's Custom Prediction Routines (one request, one predict call)."""

import importlib.util
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

_spec = importlib.util.spec_from_file_location("handler", os.environ["BENCH_HANDLER"])
handler = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(handler)
state = handler.load(os.environ.get("BENCH_MODEL_DIR", ""))
app = FastAPI()


@app.get("/health")
def health():
    return {}


@app.post("/predict")
async def predict(request: Request):
    body = await request.json()
    preds = handler.predict(state, body["instances"], body.get("parameters") or {})
    return JSONResponse({"predictions": preds})
