using System.Collections.Frozen;

namespace DistillGuard.Detection.Prompts;

/// <summary>Word lists behind the content features: stop words, capability areas and elicitation phrases.</summary>
/// <remarks>
/// Hand-written and deliberately small so that an analyst can read why a request counted. Phrases follow the
/// disclosed campaigns: chain-of-thought elicitation and "reasoning behind a finished answer" (Anthropic, Feb 2026),
/// thinking-language coercion (Google GTIG, Feb 2026), rubric grading and task generation for RL (Anthropic).
/// </remarks>
internal static class Lexicons
{
    /// <summary>Capability areas a request can be about; index 0 is "none matched".</summary>
    public static readonly string[] CapabilityNames =
    [
        "none", "coding", "math", "science", "writing", "translation", "business", "legal", "medical", "agentic", "history", "support", "reasoning",
    ];

    private static readonly string[] StopWordList =
    [
        "the", "and", "for", "that", "this", "with", "from", "your", "you", "are", "was", "were", "will", "would", "could", "should",
        "have", "has", "had", "not", "but", "what", "which", "who", "whom", "when", "where", "why", "how", "all", "any", "each", "can",
        "about", "into", "than", "then", "them", "they", "their", "there", "these", "those", "its", "it's", "our", "out", "over",
        "some", "such", "only", "other", "also", "been", "being", "does", "did", "doing", "just", "more", "most", "very", "may",
        "might", "must", "shall", "please", "like", "make", "give", "tell", "write", "explain", "describe", "answer", "question",
        "following", "below", "above", "using", "use", "one", "two", "get", "let", "need", "want", "know", "think", "here",
    ];

    private static readonly (string Area, string[] Words)[] CapabilityWords =
    [
        ("coding", ["code", "function", "python", "javascript", "typescript", "program", "programming", "debug", "compile", "compiler", "algorithm", "class", "method", "sql", "query", "bug", "implement", "script", "java", "rust", "regex", "variable", "loop", "array", "api", "refactor", "unit", "test", "stack", "exception"]),
        ("math", ["math", "mathematics", "equation", "solve", "integral", "derivative", "probability", "proof", "prove", "theorem", "calculate", "algebra", "geometry", "matrix", "polynomial", "arithmetic", "fraction", "statistics"]),
        ("science", ["physics", "chemistry", "biology", "molecule", "cell", "cells", "energy", "atom", "species", "organism", "gene", "protein", "quantum", "element", "reaction", "plant", "plants", "animal", "animals", "climate"]),
        ("writing", ["essay", "story", "poem", "letter", "blog", "rewrite", "summary", "summarize", "summarise", "draft", "paragraph", "article", "headline", "tone", "edit", "proofread"]),
        ("translation", ["translate", "translation", "french", "spanish", "german", "chinese", "japanese", "korean", "portuguese", "italian", "russian", "arabic", "localize", "localise"]),
        ("business", ["market", "marketing", "business", "finance", "revenue", "customer", "customers", "sales", "invest", "investment", "stock", "startup", "pricing", "strategy", "budget"]),
        ("legal", ["law", "legal", "contract", "court", "statute", "clause", "liability", "lawsuit", "regulation", "compliance"]),
        ("medical", ["medical", "disease", "symptom", "symptoms", "patient", "treatment", "diagnosis", "drug", "health", "clinical", "dose", "therapy"]),
        ("agentic", ["tool", "tools", "agent", "json", "schema", "execute", "terminal", "shell", "file", "files", "repository", "command", "workflow", "browser", "call", "calls"]),
        ("history", ["history", "historical", "war", "century", "empire", "government", "politics", "political", "culture", "ancient", "revolution"]),
        ("support", ["order", "refund", "account", "password", "shipping", "delivery", "subscription", "invoice", "cancel", "warranty", "ticket"]),
        ("reasoning", ["puzzle", "logic", "logical", "riddle", "deduce", "infer", "reasoning", "reason", "argument"]),
    ];

    /// <summary>Elicitation phrases and their weights; a request's score is 1 − exp(−Σ weights of phrases present).</summary>
    /// <remarks>
    /// Weights are hand-set, not fitted: 1.0 for phrasing that asks for the model's reasoning as data, 0.6 for common
    /// "show your work" phrasing that students and benchmark harnesses also use, 0.4 for generic length/detail asks.
    /// The per-account share is what gets calibrated against benign traffic, not this per-request score.
    /// </remarks>
    public static readonly (string Phrase, double Weight)[] ElicitationPhrases =
    [
        ("step by step", 0.6),
        ("step-by-step", 0.6),
        ("show your reasoning", 0.8),
        ("show your work", 0.6),
        ("show all your work", 0.6),
        ("show every step", 0.8),
        ("explain your reasoning", 0.6),
        ("chain of thought", 1.0),
        ("chain-of-thought", 1.0),
        ("think through", 0.4),
        ("think carefully", 0.4),
        ("internal reasoning", 1.2),
        ("reasoning behind", 1.0),
        ("reasoning process", 0.8),
        ("reasoning trace", 1.2),
        ("full reasoning", 1.0),
        ("complete reasoning", 1.0),
        ("transparent reasoning", 1.0),
        ("thought process", 0.8),
        ("your thinking", 0.8),
        ("thinking must", 1.2),
        ("thinking content", 1.2),
        ("reconstruct", 0.6),
        ("intermediate steps", 0.8),
        ("every intermediate", 0.8),
        ("before giving the final answer", 0.8),
        ("final answer", 0.3),
        ("rubric", 0.8),
        ("grade the", 0.6),
        ("score the following", 0.8),
        ("on a scale of", 0.4),
        ("diverse tasks", 1.0),
        ("diverse questions", 1.0),
        ("diverse problems", 1.0),
        ("generate tasks", 0.8),
        ("new tasks", 0.6),
        ("training data", 1.0),
        ("debug mode", 1.2),
        ("system prompt", 0.8),
        ("expert data analyst", 0.8),
        ("detailed explanation", 0.4),
        ("in detail", 0.3),
        ("comprehensive", 0.3),
        ("thorough", 0.3),
    ];

    /// <summary>Hashes of stop words (never content, never a topic).</summary>
    public static readonly FrozenSet<ulong> StopWords = StopWordList.Select(w => SkeletonTokenizer.HashWord(w)).ToFrozenSet();

    /// <summary>Word hash → capability area index.</summary>
    public static readonly FrozenDictionary<ulong, byte> Capabilities = BuildCapabilities();

    private static FrozenDictionary<ulong, byte> BuildCapabilities()
    {
        var map = new Dictionary<ulong, byte>();
        foreach (var (area, words) in CapabilityWords)
        {
            var index = (byte)Array.IndexOf(CapabilityNames, area);
            foreach (var word in words)
            {
                map.TryAdd(SkeletonTokenizer.HashWord(word), index);
            }
        }

        return map.ToFrozenDictionary();
    }
}
