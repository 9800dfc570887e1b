using DistillGuard.Gateway.OpenAI;
using DistillGuard.Gateway.Usage;
using Microsoft.AspNetCore.Http;

namespace DistillGuard.Gateway.Inference;

/// <summary>Something that answers inference requests for a set of model ids: the built-in model or an upstream server.</summary>
internal interface IModelBackend
{
    /// <summary>Name shown in logs and metrics.</summary>
    string Name { get; }

    /// <summary>Model ids this backend serves.</summary>
    IReadOnlyList<string> Models { get; }

    /// <summary>Answers <paramref name="request"/> on <paramref name="context"/>'s response, filling in <paramref name="usage"/>.</summary>
    Task HandleAsync(HttpContext context, InferenceRequest request, RequestUsage usage);
}

/// <summary>Routes a model id to the backend that serves it.</summary>
internal sealed class ModelCatalog
{
    private readonly Dictionary<string, IModelBackend> _byModel = new(StringComparer.Ordinal);

    public ModelCatalog(IEnumerable<IModelBackend> backends, TimeProvider time)
    {
        Created = time.GetUtcNow().ToUnixTimeSeconds();
        foreach (var backend in backends)
        {
            foreach (var model in backend.Models)
            {
                _byModel.Add(model, backend);
            }
        }
    }

    /// <summary>Unix seconds reported as the models' creation time.</summary>
    public long Created { get; }

    public IEnumerable<(string Model, IModelBackend Backend)> Entries => _byModel.Select(kv => (kv.Key, kv.Value));

    public IModelBackend? Find(string model) => _byModel.GetValueOrDefault(model);
}
