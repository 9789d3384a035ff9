"""Keras models shared by the graph tests (test_from_keras, test_verify)."""
import keras

L = keras.layers


def residual_inception_model():
    """Residual block (conv-BN-ReLU-conv-BN + identity, ReLU), Inception concat, fan-out, shared Dense, 2 inputs."""
    img, vec = keras.Input((6, 6, 3), name="img"), keras.Input((4,), name="vec")
    stem = L.Conv2D(4, 3, padding="same", name="stem")(img)
    h = L.Activation("relu", name="r1")(L.BatchNormalization(name="bn1")(
        L.Conv2D(4, 3, padding="same", use_bias=False, name="c1")(stem)))
    h = L.BatchNormalization(name="bn2")(L.Conv2D(4, 3, padding="same", use_bias=False, name="c2")(h))
    h = L.Activation("relu", name="r2")(L.Add(name="add")([h, stem]))
    pooled = L.Conv2D(2, 1, name="bp")(L.MaxPooling2D(3, strides=1, padding="same", name="pool")(h))
    branches = [L.Conv2D(2, 1, name="b1")(h), L.Conv2D(2, 3, padding="same", name="b3")(h),
                L.Conv2D(2, 5, padding="same", name="b5")(h), pooled]
    features = L.GlobalAveragePooling2D(name="gap")(L.Concatenate(name="cat")(branches))
    shared = L.Dense(4, activation="tanh", name="shared")
    a, b = shared(L.Dense(4, name="proj")(features)), shared(vec)
    out = L.Dense(3, name="head")(L.Concatenate(name="cat2")([a, b, L.Dense(2, name="fan")(b)]))
    model = keras.Model([img, vec], out, name="net")
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=0.01))
    return model
