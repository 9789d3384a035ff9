"""Keras models shared by the graph tests (test_from_keras, test_verify, test_verify_condition_scales and
test_verify_late_gradients)."""
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


def conv_bn_model():
    """Walkthrough 27's v_bn_batch model without Dropout: a strided ReLU conv, a conv into a training-mode
    BatchNormalization, SGD with momentum (its slots are the gradients after one step)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3, strides=2, activation="relu", name="c1"),
                              L.Conv2D(6, 3, padding="same", name="c2"), L.BatchNormalization(name="bn"),
                              L.ReLU(name="relu"), L.GlobalAveragePooling2D(name="gap"),
                              L.Dense(3, activation="softmax", name="out")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    return model
