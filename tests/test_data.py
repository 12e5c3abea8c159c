"""Tests of alkit.data: registry, loaders on real and fake files, custom data, toy sets."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from alkit.data import (
    ALDataset,
    DatasetError,
    fake,
    from_arrays,
    from_folder,
    imbalanced,
    list_datasets,
    load_dataset,
    read_idx_images,
)

torch.set_num_threads(1)

DEBIAN_TRAIN = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def to_uint8(ds: ALDataset, x: torch.Tensor) -> np.ndarray:
    """Undo the loader's normalisation: back to 0..255 pixels (rounded)."""
    mean = torch.tensor(ds.mean).view(1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, -1, 1, 1)
    pixels = (x * std + mean) * 255.0
    assert float((pixels - pixels.round()).abs().max()) < 1e-2  # normalisation is exactly affine
    return pixels.round().clamp(0, 255).to(torch.uint8).numpy()


def row_bytes(images: np.ndarray) -> list[bytes]:
    return sorted(img.tobytes() for img in images)


# ----------------------------------------------------------------------------------- registry
def test_registry_lists_all_names():
    expected = {
        "blobs",
        "moons",
        "sampling_bias",
        "digits",
        "mnist5k",
        "fashion_mnist",
        "mnist",
        "cifar10",
        "svhn",
        "folder",
    }
    assert expected <= set(list_datasets())
    assert list_datasets() == sorted(list_datasets())


def test_unknown_name_lists_valid_names():
    with pytest.raises(DatasetError) as e:
        load_dataset("digitz")
    msg = str(e.value)
    assert "'digitz'" in msg and "Did you mean 'digits'" in msg
    for name in ("digits", "fashion_mnist", "cifar10", "sampling_bias"):
        assert name in msg


@pytest.mark.parametrize(
    "name, options, needle",
    [
        ("digits", {"test_sise": 0.2}, "test_sise"),
        ("digits", {"seed": -1}, "seed"),
        ("digits", {"seed": 1.5}, "seed"),
        ("digits", {"test_size": 1.5}, "test_size"),
        ("digits", {"test_size": 2000}, "test_size"),
        ("blobs", {"n_classes": 1}, "n_classes"),
        ("moons", {"noise": float("nan")}, "noise"),
        ("sampling_bias", {"n_initial": 1000}, "n_initial"),
        ("fashion_mnist", {"waal_split": "yes"}, "waal_split"),
        ("mnist", {"download": 1}, "download"),
        ("folder", {"test_fraction": 1.0, "root": "."}, "test_fraction"),
    ],
)
def test_bad_options_are_named(name, options, needle):
    with pytest.raises(DatasetError, match=needle):
        load_dataset(name, **options)


# ------------------------------------------------------------------------------------- digits
def test_digits_shapes_ranges_and_stratification():
    ds = load_dataset("digits")
    assert ds.default_model == "mlp" and ds.num_classes == 10
    assert ds.x_train.shape == (1348, 64) and ds.x_test.shape == (449, 64)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) == 1.0
    assert torch.equal(ds.x_train * 16, (ds.x_train * 16).round())  # 0..16 scaled by 1/16
    full = torch.bincount(torch.cat([ds.y_train, ds.y_test]), minlength=10)
    test = torch.bincount(ds.y_test, minlength=10)
    assert (test.float() - 0.25 * full.float()).abs().max() <= 1.0


def test_digits_determinism_under_seed():
    a, b, c = load_dataset("digits", seed=3), load_dataset("digits", seed=3), load_dataset("digits", seed=4)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.x_test, c.x_test)
    assert len(load_dataset("digits", test_size=100).x_test) == 100


# ------------------------------------------------------------------------------------ mnist5k
def test_mnist5k_shapes_and_normalisation():
    ds = load_dataset("mnist5k", seed=1)
    assert ds.x_train.shape == (4000, 1, 28, 28) and ds.x_test.shape == (1000, 1, 28, 28)
    assert ds.default_model == "lenet" and ds.mean == (0.1307,) and ds.std == (0.3081,)
    assert torch.bincount(ds.y_test, minlength=10).tolist() == [100] * 10
    assert float(ds.x_train.min()) == pytest.approx(-0.1307 / 0.3081, abs=1e-5)
    pixels = to_uint8(ds, ds.x_train)
    assert pixels.max() == 255
    # normalised pool has roughly zero mean / unit std (MNIST's constants)
    assert abs(float(ds.x_train.mean())) < 0.1 and abs(float(ds.x_train.std()) - 1.0) < 0.1


# ------------------------------------------------------------------------------ fashion-mnist
@pytest.mark.parametrize("layout", ["debian", "torchvision"])
def test_fashion_mnist_fake_roundtrip(tmp_path, layout):
    arrays = fake.write_fake_fashion_mnist(tmp_path, n_train=120, n_test=40, layout=layout, seed=5)
    if layout == "debian":
        assert (tmp_path / "train-images-idx3-ubyte.gz").is_file()
    else:
        assert (tmp_path / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").is_file()
    ds = load_dataset("fashion_mnist", root=tmp_path)
    assert ds.x_train.shape == (120, 1, 28, 28) and ds.x_test.shape == (40, 1, 28, 28)
    assert ds.mean == (0.286,) and ds.std == (0.3529,) and ds.default_model == "lenet"
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(to_uint8(ds, ds.x_train), arrays["x_train"])
    np.testing.assert_array_equal(to_uint8(ds, ds.x_test), arrays["x_test"])
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["y_train"])
    np.testing.assert_array_equal(ds.y_test.numpy(), arrays["y_test"])


def test_fashion_mnist_waal_split_on_fakes(tmp_path):
    arrays = fake.write_fake_fashion_mnist(tmp_path, n_train=150, n_test=30, seed=1)
    a = load_dataset("fashion_mnist", root=tmp_path, waal_split=True, seed=0)
    assert len(a.x_train) == 100 and len(a.x_val) == 50 and len(a.x_test) == 30
    # pool and validation partition the training file exactly
    both = np.concatenate([to_uint8(a, a.x_train), to_uint8(a, a.x_val)])
    assert row_bytes(both) == row_bytes(arrays["x_train"])
    b = load_dataset("fashion_mnist", root=tmp_path, waal_split=True, seed=0)
    c = load_dataset("fashion_mnist", root=tmp_path, waal_split=True, seed=1)
    assert torch.equal(a.y_val, b.y_val) and torch.equal(a.x_val, b.x_val)
    assert not torch.equal(a.x_val, c.x_val)


def test_truncated_idx_names_path(tmp_path):
    fake.write_fake_fashion_mnist(tmp_path, n_train=20, n_test=10, layout="torchvision")
    path = tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError) as e:
        load_dataset("fashion_mnist", root=tmp_path)
    assert str(path) in str(e.value) and "truncated" in str(e.value)


def test_truncated_gzip_names_path(tmp_path):
    fake.write_fake_fashion_mnist(tmp_path, n_train=20, n_test=10, layout="debian")
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError) as e:
        load_dataset("fashion_mnist", root=tmp_path)
    assert str(path) in str(e.value) and "dataset-fashion-mnist" in str(e.value)


def test_wrong_magic_names_path(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    path = fake.write_idx_images(tmp_path / "imgs-idx3-ubyte", images)
    raw = bytearray(path.read_bytes())
    raw[2] = 0x09  # int8 elements: a valid IDX header, but not an image file
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="0x00000903") as e:
        read_idx_images(path)
    assert str(path) in str(e.value)
    # labels where images are expected
    fake.write_fake_fashion_mnist(tmp_path / "swap", n_train=10, n_test=10, layout="torchvision")
    raw_dir = tmp_path / "swap" / "FashionMNIST" / "raw"
    (raw_dir / "train-images-idx3-ubyte").write_bytes((raw_dir / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DatasetError, match="expected 0x00000803") as e:
        load_dataset("fashion_mnist", root=tmp_path / "swap")
    assert "train-images-idx3-ubyte" in str(e.value)


def test_idx_roundtrip_gzip(tmp_path):
    labels = np.arange(7, dtype=np.uint8)
    path = fake.write_idx_labels(tmp_path / "l", labels, gz=True)
    assert path.name == "l.gz" and gzip.decompress(path.read_bytes())[:4] == b"\x00\x00\x08\x01"
    from alkit.data import read_idx_labels

    np.testing.assert_array_equal(read_idx_labels(path), labels)


def test_fashion_mnist_missing_root_names_fix(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError) as e:
        load_dataset("fashion_mnist", root=missing)
    msg = str(e.value)
    assert str(missing) in msg and "apt-get install dataset-fashion-mnist" in msg and "root=DIR" in msg


def test_fashion_mnist_partial_folder_lists_missing_file(tmp_path):
    fake.write_fake_fashion_mnist(tmp_path, n_train=10, n_test=10)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="lacks t10k-labels-idx1-ubyte"):
        load_dataset("fashion_mnist", root=tmp_path)


@pytest.mark.needs_fmnist
def test_fashion_mnist_real_debian_package():
    if not DEBIAN_TRAIN.is_file():
        pytest.skip(f"{DEBIAN_TRAIN} absent: apt-get install dataset-fashion-mnist")
    ds = load_dataset("fashion_mnist")
    assert len(ds.x_train) == 60000 and len(ds.x_test) == 10000 and ds.x_val is None
    assert torch.bincount(ds.y_train).tolist() == [6000] * 10
    assert abs(float(ds.x_train.mean())) < 0.01 and abs(float(ds.x_train.std()) - 1.0) < 0.01
    waal = load_dataset("fashion_mnist", waal_split=True, seed=0)
    assert len(waal.x_train) == 40000 and len(waal.x_val) == 20000 and len(waal.x_test) == 10000


# --------------------------------------------------------------------------- torchvision sets
def test_mnist_fake_torchvision_layout(tmp_path):
    arrays = fake.write_fake_mnist_torchvision(tmp_path, n_train=50, n_test=20, seed=2)
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.x_train.shape == (50, 1, 28, 28) and ds.x_test.shape == (20, 1, 28, 28)
    assert ds.default_model == "lenet" and ds.info["reader"] == "torchvision"
    np.testing.assert_array_equal(to_uint8(ds, ds.x_train), arrays["x_train"])
    np.testing.assert_array_equal(ds.y_test.numpy(), arrays["y_test"])


def test_mnist_gz_only_read_by_alkit(tmp_path):
    arrays = fake.write_fake_mnist_torchvision(tmp_path, n_train=30, n_test=10, gz=True)
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.info["reader"] == "alkit.data.idx"
    np.testing.assert_array_equal(to_uint8(ds, ds.x_test), arrays["x_test"])


def test_cifar10_fake_batches(tmp_path):
    arrays = fake.write_fake_cifar10(tmp_path, n_train=40, n_test=15, seed=3)
    ds = load_dataset("cifar10", root=tmp_path)
    assert ds.x_train.shape == (40, 3, 32, 32) and ds.x_test.shape == (15, 3, 32, 32)
    assert ds.default_model == "resnet18" and ds.class_names[0] == "airplane"
    assert ds.info["md5_verified"] is False
    np.testing.assert_array_equal(to_uint8(ds, ds.x_train), arrays["x_train"])
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["y_train"])


def test_svhn_fake_mat_label_10_is_zero(tmp_path):
    arrays = fake.write_fake_svhn(tmp_path, n_train=40, n_test=20, seed=4)
    ds = load_dataset("svhn", root=tmp_path)
    assert ds.x_train.shape == (40, 3, 32, 32) and ds.default_model == "resnet18"
    assert (arrays["y_train"] == 0).sum() > 0 and int(ds.y_train.max()) <= 9
    np.testing.assert_array_equal(ds.y_train.numpy(), arrays["y_train"])
    np.testing.assert_array_equal(to_uint8(ds, ds.x_test), arrays["x_test"])


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn"])
def test_torchvision_missing_files_say_download(tmp_path, name):
    with pytest.raises(DatasetError) as e:
        load_dataset(name, root=tmp_path / "empty")
    assert "download=True" in str(e.value) and str(tmp_path / "empty") in str(e.value)


def test_default_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ALKIT_DATA", str(tmp_path / "envroot"))
    with pytest.raises(DatasetError, match="envroot"):
        load_dataset("cifar10")


# ------------------------------------------------------------------------------ custom data
def _synthetic(per_class: int = 1000, k: int = 10) -> ALDataset:
    y = np.repeat(np.arange(k), per_class)
    x = np.stack([y, -y], axis=1).astype(np.float32)
    return from_arrays(x, y, x[:: per_class // 10], y[:: per_class // 10], name="synthetic")


def test_imbalanced_ratios_and_determinism():
    ds = _synthetic()
    imb = imbalanced(ds)
    counts = torch.bincount(imb.y_train, minlength=10).numpy()
    expected = 100 * np.arange(1, 11)
    # binomial sd <= sqrt(1000 * 0.25) ~ 16; 4 sd
    assert np.all(np.abs(counts - expected) <= 64), counts
    assert counts[9] == 1000  # ratio 1 keeps everything
    assert torch.equal(imb.x_test, ds.x_test) and imb.name == "synthetic_imb"
    assert imb.info["imbalance"]["kept_per_class"] == counts.tolist()
    again = imbalanced(ds)
    assert torch.equal(again.x_train, imb.x_train)
    other = imbalanced(ds, seed=1)
    assert not torch.equal(other.y_train, imb.y_train)
    custom = imbalanced(ds, ratios=[0.5] * 10)
    assert abs(len(custom.y_train) - 5000) < 200


@pytest.mark.parametrize("ratios", [[0.5] * 9, [0.0] + [1.0] * 9, [1.5] * 10, "abc"])
def test_imbalanced_rejects_bad_ratios(ratios):
    with pytest.raises(DatasetError, match="ratios"):
        imbalanced(_synthetic(per_class=20), ratios=ratios)


def test_from_arrays_conversions_and_models():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    ds = from_arrays(grey, np.arange(12) % 3, grey[:4], np.arange(4) % 3)
    assert ds.input_shape == (1, 28, 28) and ds.default_model == "lenet" and ds.num_classes == 3
    assert ds.x_train.dtype == torch.float32 and float(ds.x_train.max()) <= 1.0
    assert torch.allclose(ds.x_train[:, 0] * 255, torch.from_numpy(grey).float())
    colour = rng.random((6, 32, 32, 3))
    ds = from_arrays(colour, torch.tensor([0, 1, 0, 1, 0, 1]), colour[:2], [0.0, 1.0])
    assert ds.input_shape == (3, 32, 32) and ds.default_model == "resnet18" and ds.y_test.dtype == torch.int64
    flat = from_arrays(rng.random((5, 4)), ["b", "a", "b", "c", "a"], rng.random((2, 4)), ["c", "a"])
    assert flat.default_model == "mlp" and flat.class_names == ["a", "b", "c"]
    assert flat.y_train.tolist() == [1, 0, 1, 2, 0]
    assert (
        from_arrays(rng.random((4, 2)), [0, 1, 0, 1], rng.random((2, 2)), [0, 1], default_model="x").default_model
        == "x"
    )


def test_from_arrays_validation_errors():
    x = np.zeros((4, 3), np.float32)
    y = np.array([0, 1, 0, 1])
    bad = x.copy()
    bad[1, 1] = np.nan
    with pytest.raises(DatasetError, match="NaN"):
        from_arrays(bad, y, x, y)
    with pytest.raises(DatasetError, match="mismatch"):
        from_arrays(x, y[:3], x, y)
    with pytest.raises(DatasetError, match="mismatch"):
        from_arrays(x, y, np.zeros((4, 5)), y)
    with pytest.raises(DatasetError, match="out of range"):
        from_arrays(x, np.array([0, 1, 2, 5]), x, y, class_names=["a", "b", "c"])
    with pytest.raises(DatasetError, match="out of range"):
        from_arrays(x, np.array([0, -1, 0, 1]), x, y)
    with pytest.raises(DatasetError, match="integers"):
        from_arrays(x, np.array([0.5, 1, 0, 1]), x, y)


def test_from_folder_fake_tree(tmp_path):
    root = fake.write_fake_image_folder(tmp_path / "pets", classes=("dog", "cat", "bird"), per_class=6, size=20)
    ds = from_folder(root, seed=0)
    assert ds.class_names == ["bird", "cat", "dog"] and ds.input_shape == (3, 32, 32)
    assert ds.default_model == "resnet18" and ds.name == "pets"
    assert len(ds.x_train) + len(ds.x_test) == 18 and len(ds.x_test) == 4
    assert set(ds.y_test.tolist()) == {0, 1, 2}
    assert torch.allclose(ds.x_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    again = load_dataset("folder", root=root, seed=0)
    assert torch.equal(again.x_test, ds.x_test)
    small = from_folder(root, image_size=(16, 20))
    assert small.input_shape == (3, 16, 20)
    grey_root = fake.write_fake_image_folder(tmp_path / "grey", classes=("a", "b"), per_class=5, mode="L")
    grey = from_folder(grey_root)
    assert grey.input_shape == (1, 28, 28) and grey.default_model == "lenet"
    assert from_folder(grey_root, grayscale=False).input_shape == (3, 32, 32)


def test_from_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        from_folder(tmp_path / "missing")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images found"):
        from_folder(tmp_path / "empty")


# ----------------------------------------------------------------------------------- toy 2-D
def test_blobs_and_moons_shapes_balance_determinism():
    b = load_dataset("blobs", n_samples=300, n_classes=4, n_test=100, seed=2)
    assert b.x_train.shape == (300, 2) and b.x_test.shape == (100, 2) and b.default_model == "mlp"
    assert torch.bincount(b.y_train).tolist() == [75] * 4
    # each blob is centred where info says
    centres = torch.tensor(b.info["centres"], dtype=torch.float32)
    for k in range(4):
        assert torch.linalg.norm(b.x_train[b.y_train == k].mean(0) - centres[k]) < 0.5
    assert torch.equal(load_dataset("blobs", n_samples=300, n_classes=4, n_test=100, seed=2).x_train, b.x_train)
    assert not torch.equal(load_dataset("blobs", n_samples=300, n_classes=4, n_test=100, seed=3).x_train, b.x_train)
    m = load_dataset("moons", n_samples=201, noise=0.0, seed=1)
    assert torch.bincount(m.y_train).tolist() == [101, 100]
    upper = m.x_train[m.y_train == 0]
    assert torch.allclose(upper.norm(dim=1), torch.ones(len(upper)), atol=1e-5)  # noiseless: unit circle
    assert torch.equal(load_dataset("moons", n_samples=201, noise=0.0, seed=1).x_train, m.x_train)


def test_sampling_bias_initial_set_at_extremes():
    ds = load_dataset("sampling_bias", seed=0)
    init = ds.info["initial_indices"]
    assert isinstance(init, list) and len(init) == 10 and all(isinstance(i, int) for i in init)
    x0 = ds.x_train[init, 0]
    assert bool((x0.abs() > 4).all())  # only the far clusters, nothing from the middle
    assert set(ds.y_train[init][x0 < 0].tolist()) == {0} and set(ds.y_train[init][x0 > 0].tolist()) == {1}
    # the dense middle holds a class-1 pocket between two class-0 regions
    x, y = ds.x_train[:, 0], ds.y_train
    assert bool((y[(x > -3) & (x < -2)] == 1).all()) and bool((y[(x > -2) & (x < 3)] == 0).all())
    assert float(((x > -3) & (x < 3)).float().mean()) == pytest.approx(0.6, abs=0.01)  # dense middle
    # same distribution for the test split
    xt = ds.x_test[:, 0]
    assert abs(float(((xt > -3) & (xt < -2)).float().mean()) - 0.1) < 0.02
    again = load_dataset("sampling_bias", seed=0)
    assert again.info["initial_indices"] == init and torch.equal(again.x_train, ds.x_train)
    assert load_dataset("sampling_bias", seed=1).info["initial_indices"] != init


def test_corrupt_torchvision_files_name_path(tmp_path):
    fake.write_fake_mnist_torchvision(tmp_path / "m", n_train=20, n_test=10)
    img = tmp_path / "m" / "MNIST" / "raw" / "train-images-idx3-ubyte"
    img.write_bytes(img.read_bytes()[:-28])
    with pytest.raises(DatasetError, match="truncated") as e:
        load_dataset("mnist", root=tmp_path / "m")
    assert str(img) in str(e.value)
    fake.write_fake_cifar10(tmp_path / "c", n_train=10, n_test=5)
    batch = tmp_path / "c" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:50])
    with pytest.raises(DatasetError, match="corrupt") as e:
        load_dataset("cifar10", root=tmp_path / "c")
    assert str(batch) in str(e.value)
    fake.write_fake_svhn(tmp_path / "s", n_train=10, n_test=5)
    mat = tmp_path / "s" / "test_32x32.mat"
    mat.write_bytes(mat.read_bytes()[:300])
    with pytest.raises(DatasetError, match="corrupt") as e:
        load_dataset("svhn", root=tmp_path / "s")
    assert str(mat) in str(e.value)
