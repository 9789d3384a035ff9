"""The measured difference of one textbook variant from Keras."""
from dataclasses import asdict, dataclass

from parity.compare import relative_difference


@dataclass
class VariantResult:
    name: str
    dtype: str
    max_abs: float
    max_rel: float
    reason: str
    keras_setting: str

    @classmethod
    def measured(cls, name, dtype, ours, theirs, reason, keras_setting):
        """The result for arrays ``ours`` vs the Keras reference ``theirs`` (lists of arrays or one array each)."""
        max_abs, max_rel = relative_difference(ours, theirs)
        return cls(name, dtype, max_abs, max_rel, reason, keras_setting)

    def to_dict(self):
        return asdict(self)
