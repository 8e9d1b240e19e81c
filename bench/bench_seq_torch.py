"""PyTorch's side of the sequence rows (issue 28): nn.GRU or nn.LSTM (input 40, hidden 128,
batch_first), on its last step's output nn.Linear(128, 10), CrossEntropyLoss, torch.optim.Adam
(lr 1e-3); one training step on 32 random sequences of 50 steps. Prints sequences/s.
Usage: bench_seq_torch.py gru|lstm THREADS [STEPS]."""
import sys, time
import torch

cell, threads = sys.argv[1], int(sys.argv[2])
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 40
torch.set_num_threads(threads)
torch.manual_seed(1)
I, H, T, B, C, N = 40, 128, 50, 32, 10, 256
rnn = (torch.nn.GRU if cell == "gru" else torch.nn.LSTM)(I, H, batch_first=True)
head = torch.nn.Linear(H, C)
params = list(rnn.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
lossf = torch.nn.CrossEntropyLoss()
x = torch.rand(N, T, I) * 2 - 1
y = torch.randint(0, C, (N,))

def step(k):
    i = (k * B) % N
    out, _ = rnn(x[i:i + B])
    loss = lossf(head(out[:, -1]), y[i:i + B])
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()

for k in range(3):
    step(k)
t0 = time.perf_counter()
for k in range(steps):
    loss = step(k)
t1 = time.perf_counter()
print("SEQ %s torch%d sequences/s %.1f loss %.4f" % (cell, threads, steps * B / (t1 - t0), loss))
