namespace Gateway.Diagnostics;

/// <summary>
/// A count that many threads add to at once without sharing a cache line: each thread adds to one of several cells
/// (64 bytes apart), and reading sums them. For totals on the message path, read rarely.
/// </summary>
internal sealed class StripedCounter
{
    private const int Stride = 8; // longs per cell: 64 bytes
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount * 2, 2, 64));
        _mask = stripes - 1;
        _cells = new long[(stripes + 1) * Stride]; // one cell of padding before the first
    }

    public void Increment() => Interlocked.Increment(ref _cells[((Environment.CurrentManagedThreadId & _mask) + 1) * Stride]);

    public void Add(long value) => Interlocked.Add(ref _cells[((Environment.CurrentManagedThreadId & _mask) + 1) * Stride], value);

    public long Sum()
    {
        long sum = 0;
        for (var i = Stride; i < _cells.Length; i += Stride)
        {
            sum += Volatile.Read(ref _cells[i]);
        }

        return sum;
    }
}
