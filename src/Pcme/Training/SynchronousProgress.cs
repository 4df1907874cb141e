namespace Pcme.Training;

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (System.Progress posts to the thread pool).</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => report(value);
}
