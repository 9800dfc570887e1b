using DistillGuard.LanguageModels;

namespace DistillGuard.Lab.Distillation;

/// <summary>A model behind an OpenAI-compatible endpoint: where to call it and with which key. Disposing stops serving it.</summary>
public interface IServedModel : IAsyncDisposable
{
    /// <summary>The API base, e.g. <c>http://localhost:5123/v1</c>.</summary>
    Uri ApiBase { get; }

    /// <summary>An API key the lab may use without rate limits or the response ladder in its way.</summary>
    string ApiKey { get; }

    /// <summary>The model id to request.</summary>
    string ModelId { get; }
}

/// <summary>Puts models behind real HTTP endpoints for the lab: the watermarked teacher (our gateway) and suspects.</summary>
public interface IModelServer
{
    /// <summary>
    /// Serves <paramref name="model"/>: with <paramref name="watermarked"/> as our gateway does (our key), otherwise as a
    /// competitor's API would (no watermark of ours).
    /// </summary>
    Task<IServedModel> ServeAsync(ILanguageModel model, bool watermarked, CancellationToken cancellationToken = default);
}
