"""What a trained model expects of its input (``meta.json`` beside every trained or compressed model):
window, stride, sampling rate, montage, labels, scaling, and for the snn family the time step."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edgeneuro.errors import InputError

META = "meta.json"


@dataclass(frozen=True)
class Meta:
    """What a model expects of its input: written beside every trained or compressed model."""

    family: str
    window: float
    stride: float
    fs: float
    channels: tuple[str, ...]
    labels: str
    input_scale_uv: float  # window values are microvolts / this
    train_subjects: tuple[str, ...]
    test_subjects: tuple[str, ...]
    data: str = ""  # the folder the model was trained on
    pool: int = 0  # the snn family: samples per time step (edgeneuro.models.snn.features); dt = pool / fs

    @property
    def dt(self) -> float:
        """The time step of a spiking model (seconds)."""
        return self.pool / self.fs

    def save(self, folder: Path) -> Path:
        path = Path(folder) / META
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @staticmethod
    def load(model: Path) -> Meta:
        path = Path(model).parent / META
        if not path.is_file():
            raise InputError(f"{model}: no {META} beside the model (written by `edgeneuro train`)")
        d = json.loads(path.read_text())
        return Meta(**{**d, "channels": tuple(d["channels"]), "train_subjects": tuple(d["train_subjects"]),
                       "test_subjects": tuple(d["test_subjects"])})  # fmt: skip
