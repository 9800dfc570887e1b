using DistillGuard.Usage;

namespace DistillGuard.Semantics.Tests;

/// <summary>Hand-written prompt sets for the tests (none taken from the simulator or the detector's lexicon).</summary>
internal static class Prompts
{
    /// <summary>Twenty rewordings of one request: the same ask, few shared words in a row.</summary>
    public static readonly string[] Paraphrases =
    [
        "Explain how photosynthesis turns sunlight into chemical energy in plants.",
        "How do plants convert light from the sun into stored chemical energy?",
        "Describe the process by which green plants capture solar energy and store it as sugar.",
        "In what way does a plant leaf change sunlight into energy it can use?",
        "Can you walk me through how plants make food from sunlight?",
        "What happens inside a leaf when it uses the sun's light to produce glucose?",
        "Tell me how chlorophyll lets plants harvest light and make sugars.",
        "How is light energy transformed into chemical energy during photosynthesis?",
        "Give an account of how vegetation uses sunshine to build energy-rich molecules.",
        "Break down the way plants turn solar radiation into chemical fuel.",
        "Why can plants live on sunlight, and how do they store that energy?",
        "Outline how photosynthetic organisms trap light and convert it into glucose.",
        "What is the mechanism plants use to change the sun's energy into food?",
        "Help me understand how a green plant makes sugar out of light, water and CO2.",
        "How do leaves capture the energy in sunlight and keep it as chemical bonds?",
        "Explain the conversion of light into stored energy that plants perform.",
        "In simple terms, how do plants produce their own food using the sun?",
        "Describe how sunlight powers sugar production in plant cells.",
        "What steps let a plant turn light into the chemical energy it lives on?",
        "How does photosynthesis let a plant store the sun's energy as sugar?",
    ];

    /// <summary>Twenty unrelated everyday requests.</summary>
    public static readonly string[] Varied =
    [
        "What's a good name for a golden retriever puppy?",
        "Convert 350 degrees Fahrenheit to Celsius.",
        "Write a short thank-you note to my neighbour for watering my plants.",
        "Which SQL join returns rows from both tables even without a match?",
        "Suggest a three-day itinerary for Lisbon in spring.",
        "What does the idiom 'break the ice' mean?",
        "How long should I boil an egg for a runny yolk?",
        "Summarise the plot of Pride and Prejudice in two sentences.",
        "Is it safe to charge a phone overnight?",
        "Draft a polite email asking my landlord to fix the heating.",
        "What is the capital of Australia?",
        "Recommend a beginner-friendly houseplant that tolerates low light.",
        "How do I centre a div horizontally in CSS?",
        "What were the main causes of the French Revolution?",
        "Give me a rhyming couplet about Monday mornings.",
        "How much water should an adult drink per day?",
        "Explain the offside rule in football.",
        "What's the difference between a virus and a bacterium?",
        "List three quick vegetarian dinner ideas.",
        "How do I remove a red wine stain from a carpet?",
    ];

    /// <summary>Requests for worked reasoning, worded without the lexicon's phrases.</summary>
    public static readonly string[] ReasoningAsks =
    [
        "Lay out each stage of your thinking before you answer: how many primes are there below 50?",
        "Work through this in full, writing down every calculation: a train leaves at 3pm at 80 km/h, when does it cover 200 km?",
        "I need the entire derivation, not just the result, for the sum of the first n odd numbers.",
        "Narrate your deliberation in detail and then tell me whether 391 is prime.",
        "Give a complete worked solution, justifying each move, for solving 3x + 7 = 22.",
    ];

    public static UsageEvent Event(string account, DateTimeOffset time, string prompt, int index) => new()
    {
        RequestId = $"{account}-{index}",
        Timestamp = time,
        AccountId = account,
        Endpoint = "chat.completions",
        Model = "dg-teacher",
        Status = 200,
        PromptTokens = 20,
        CompletionTokens = 100,
        MaxTokens = 256,
        PromptText = prompt,
    };
}
