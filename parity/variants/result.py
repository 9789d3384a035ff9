"""The measured difference of one textbook variant from Keras."""
from dataclasses import asdict, dataclass


@dataclass
class VariantResult:
    name: str
    dtype: str
    max_abs: float
    max_rel: float
    reason: str
    keras_setting: str

    def to_dict(self):
        return asdict(self)
