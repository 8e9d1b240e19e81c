"""PyTorch (Debian python3-torch) on W1 and W2 with the settings of issue 6: torch.optim.SGD,
the same init scheme as backprop.h (Xavier uniform for sigmoid/softmax layers, He uniform
r = sqrt(6/in) for ReLU layers, biases 0), the same sample order (file order), timing the
training epoch alone. Usage: bench_torch.py W1|W2 THREADS TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES
TEST_LABELS. Run with OMP_NUM_THREADS=THREADS (and OMP_WAIT_POLICY=PASSIVE for 2 threads)."""
import gzip, math, struct, sys, time
import numpy as np
import torch

def idx(path):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    nd = data[3]
    dims = struct.unpack(">%dI" % nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)

work, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
xtr = torch.from_numpy(idx(sys.argv[3]).reshape(-1, 784).astype(np.float32) / 255)
ytr = torch.from_numpy(idx(sys.argv[4]).astype(np.int64))
xte = torch.from_numpy(idx(sys.argv[5]).reshape(-1, 784).astype(np.float32) / 255)
yte = torch.from_numpy(idx(sys.argv[6]).astype(np.int64))
torch.manual_seed(1)

def layer(i, o, he):
    lin = torch.nn.Linear(i, o)
    r = math.sqrt(6 / i) if he else math.sqrt(6 / (i + o))
    torch.nn.init.uniform_(lin.weight, -r, r)
    torch.nn.init.zeros_(lin.bias)
    return lin

if work == "W1":
    model = torch.nn.Sequential(layer(784, 128, False), torch.nn.Sigmoid(), layer(128, 10, False), torch.nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    onehot = torch.nn.functional.one_hot(ytr, 10).float()
    t0 = time.perf_counter()
    for i in range(xtr.shape[0]):
        out = model(xtr[i:i + 1])
        loss = 0.5 * ((out - onehot[i:i + 1]) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    t1 = time.perf_counter()
else:
    model = torch.nn.Sequential(layer(784, 256, True), torch.nn.ReLU(), layer(256, 128, True), torch.nn.ReLU(),
                                layer(128, 10, False))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    lossf = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for i in range(0, xtr.shape[0], 64):
        loss = lossf(model(xtr[i:i + 64]), ytr[i:i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    t1 = time.perf_counter()
with torch.no_grad():
    acc = (model(xte).argmax(1) == yte).float().mean().item()
print("%s torch%d samples/s %.1f accuracy %.4f" % (work, threads, xtr.shape[0] / (t1 - t0), acc))
